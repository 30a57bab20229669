""" "Was this helpful?": one vote per visitor and article (a logged-in customer, or an anonymous cookie id), a
new answer moves the vote; CSRF-protected, with htmx or as a plain form; the counts (derived from the votes)
and the worst-rated articles are for support staff."""

from __future__ import annotations

import httpx
import pytest
from litestar import Litestar

from app import clock
from app.support.help import portal, service
from app.support.help.portal import VISITOR_COOKIE
from tables.support import HelpVote
from tests.integration.content.helpers import customer_logged_in
from tests.integration.help.helpers import article
from tests.integration.staff import staff_session, table
from tests.portal import csrf_token


async def answer(client: httpx.AsyncClient, slug: str, helpful: str, *, htmx: bool = False) -> httpx.Response:
    page = await client.get(f"/help/{slug}")
    headers = {"HX-Request": "true"} if htmx else {}
    data = {"_csrf_token": csrf_token(page.text), "helpful": helpful}
    return await client.post(f"/help/{slug}/vote", data=data, headers=headers)


async def test_one_vote_per_visitor_and_changing_it_moves_it(
    client: httpx.AsyncClient, new_client: httpx.AsyncClient
) -> None:
    row = await article(slug="invoices")
    first = await answer(client, "invoices", "yes")
    assert first.status_code == 303 and first.headers["location"] == "/help/invoices#was-it-helpful"
    cookie = client.cookies[VISITOR_COOKIE]
    assert "Thank you for your answer." in (await client.get("/help/invoices")).text  # the no-JS way back
    assert (await answer(client, "invoices", "yes")).status_code == 303
    assert await service.votes_of(row.id) == (1, 0)  # the same visitor again: still one vote
    assert (await answer(client, "invoices", "no")).status_code == 303
    assert await service.votes_of(row.id) == (0, 1)  # moved, not added
    assert client.cookies[VISITOR_COOKIE] == cookie
    await answer(new_client, "invoices", "yes")  # another visitor
    assert await service.votes_of(row.id) == (1, 1)
    await customer_logged_in(new_client)  # now a customer: a visitor of their own
    await answer(new_client, "invoices", "no")
    await answer(new_client, "invoices", "no")
    assert await service.votes_of(row.id) == (1, 2)
    votes = await HelpVote.select(HelpVote.visitor, HelpVote.customer).order_by(HelpVote.id)
    assert [v["visitor"].split(":")[0] for v in votes] == ["anon", "anon", "customer"]
    assert votes[2]["customer"] is not None and votes[2]["visitor"] == f"customer:{votes[2]['customer']}"


async def test_with_htmx_the_answer_replaces_the_question(client: httpx.AsyncClient) -> None:
    row = await article(slug="refunds")
    voted = await answer(client, "refunds", "no", htmx=True)
    assert voted.status_code == 200
    assert voted.text.lstrip().startswith('<form class="panel vote" id="was-it-helpful"')  # the fragment only
    assert "this article did not help you" in voted.text and 'href="/contact"' in voted.text
    assert "Change my answer to “Yes”" in voted.text
    assert await service.votes_of(row.id) == (0, 1)


async def test_votes_need_the_csrf_token_a_real_answer_and_a_public_article(client: httpx.AsyncClient) -> None:
    await article(slug="invoices")
    await article(slug="draft", publish_state="draft")
    await client.get("/help/invoices")  # a CSRF cookie, but no token in the form
    forged = await client.post("/help/invoices/vote", data={"helpful": "yes"})
    assert forged.status_code == 403
    assert (await answer(client, "invoices", "maybe")).status_code == 422
    page = await client.get("/help/invoices")
    hidden = await client.post("/help/draft/vote", data={"_csrf_token": csrf_token(page.text), "helpful": "yes"})
    assert hidden.status_code == 404
    assert await HelpVote.count() == 0


async def test_answers_are_limited_per_address(
    client: httpx.AsyncClient, new_client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(portal, "VOTES_PER_ADDRESS", (2, 600))
    row = await article(slug="invoices")
    with clock.frozen_at(clock.now()):  # one window of the limiter, whenever the test runs
        assert (await answer(client, "invoices", "yes")).status_code == 303
        assert (await answer(client, "invoices", "no")).status_code == 303
        refused = await answer(new_client, "invoices", "no")  # another visitor, the same address
    assert refused.status_code == 429 and "Try again later" in refused.text
    assert int(refused.headers["retry-after"]) > 0
    assert await service.votes_of(row.id) == (0, 1)


async def test_a_tampered_visitor_cookie_gets_a_new_one(client: httpx.AsyncClient) -> None:
    row = await article(slug="invoices")
    client.cookies.set(VISITOR_COOKIE, "x'; DROP TABLE help_vote; --", path="/help")
    await answer(client, "invoices", "yes")
    (vote,) = await HelpVote.select(HelpVote.visitor)
    assert vote["visitor"].startswith("anon:") and "DROP" not in vote["visitor"]
    assert await service.votes_of(row.id) == (1, 0)


async def test_the_worst_rated_articles_for_support_staff(app: Litestar, client: httpx.AsyncClient) -> None:
    loved = await article(title="Loved", slug="loved")
    hated = await article(title="Hated", slug="hated")
    once = await article(title="One no", slug="once")
    unrated = await article(title="Unrated", slug="unrated")
    for n, (row, helpful) in enumerate([(loved, True)] * 3 + [(hated, False)] * 4 + [(hated, True), (once, False)]):
        await service.vote(row.slug, service.Visitor.anonymous(f"visitor-{n:012d}"), helpful)
    worst = await service.worst_rated(3)
    assert [(r.slug, r.helpful_yes, r.helpful_no, r.votes) for r in worst] == [
        ("hated", 1, 4, 5), ("once", 0, 1, 1), ("loved", 3, 0, 3)
    ]  # fmt: skip
    assert [r.rating for r in worst] == [28, 33, 80]  # (yes + 1) / (votes + 2), in %
    assert [r.slug for r in await service.worst_rated(1)] == ["hated"]
    async with staff_session(app, "support") as staff:
        listed = await staff.get(table("help_article_rating"), params={"__order": "rating"})
        assert listed.status_code == 200, listed.text
        rows = listed.json()["rows"]
        assert [(r["article"], r["helpful_yes"], r["helpful_no"]) for r in rows[:3]] == [
            (hated.id, 1, 4), (once.id, 0, 1), (unrated.id, 0, 0)
        ]  # fmt: skip
        refused = await staff.patch(table("help_article_rating", hated.id), json={"helpful_no": 0})
        assert refused.status_code == 403
        console = await staff.get("/staff/support/satisfaction")  # the same session opens the staff console
        assert console.status_code == 200, console.text
        listed_there = console.text.split('id="worst-rated-articles"')[1]
        assert [listed_there.index(f'href="/help/{slug}"') for slug in ("hated", "once", "loved")] == sorted(
            listed_there.index(f'href="/help/{slug}"') for slug in ("hated", "once", "loved")
        )
        assert 'href="/help/unrated"' not in listed_there
    async with staff_session(app, "billing") as billing:
        assert (await billing.get(table("help_article_rating"))).status_code == 403
