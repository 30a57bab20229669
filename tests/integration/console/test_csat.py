"""Customer satisfaction: a solve asks by e-mail (signed links, no log-in) and on the ticket page; one rating per
solve, changeable; the console shows it per agent and overall."""

from __future__ import annotations

import re
from typing import Any

import httpx
from litestar import Litestar

from app.accounts.staff import create_staff
from app.support import csat, service
from app.support.service import SupportDesk
from app.support.states import Event
from tables.accounts import Customer
from tables.support import TicketEvent, TicketRating
from tasks.outbox import dispatch_outbox
from tests import factories
from tests.integration.console.conftest import ConsoleSession, post_form
from tests.portal import PASSWORD, csrf_token, link_in, sign_up
from tests.smtp import Mailbox


async def solve_in_console(http: httpx.AsyncClient, ticket_id: int) -> None:
    page = f"/staff/support/tickets/{ticket_id}"
    assert (await post_form(http, page, f"{page}/status", {"event": "solve"})).status_code == 303


async def ratings() -> list[tuple[int | None, str]]:
    rows = await TicketRating.select(TicketRating.score, TicketRating.comment).order_by(TicketRating.id)
    return [(r["score"], r["comment"]) for r in rows]


async def test_rating_by_the_mailed_link_is_stored_once_and_shown_in_the_console(
    app: Litestar, client: httpx.AsyncClient, new_client: httpx.AsyncClient, console: ConsoleSession,
    desk: SupportDesk, ada: Customer, job_ctx: dict[str, Any], mailbox: Mailbox,
) -> None:  # fmt: skip
    ticket_id = await service.open_ticket(desk, ada, subject="Receipt", category="billing", body="Resend it?")
    async with console("support", "sam") as sam:
        page = f"/staff/support/tickets/{ticket_id}"
        assert (await post_form(sam, page, f"{page}/assign", {"assignee": "me"})).status_code == 303
        await solve_in_console(sam, ticket_id)
        await dispatch_outbox(job_ctx)
        [mail] = await mailbox.wait_for("support_csat")
        assert mail["To"] == "ada@example.com" and "How did we do?" in mail["Subject"]
        links = re.findall(r"https?://\S+/support/rate/\S+", Mailbox.text(mail))
        assert [link.rsplit("=", 1)[1] for link in links] == ["5", "4", "3", "2", "1"]
        link = link_in(mail, "/support/rate/")  # the first: 5, very happy

        # Nobody logged in: the signed link is the key. Opening it records nothing (mail scanners open links).
        opened = await new_client.get(link.replace("score=5", "score=4"))
        assert opened.status_code == 200
        assert 'value="4" required checked' in opened.text
        assert await ratings() == [(None, "")]
        sent = await new_client.post(link.split("?")[0], data={"_csrf_token": csrf_token(opened.text), "score": "5",
                                                                "comment": "Quick & kind <3"})  # fmt: skip
        assert sent.status_code == 200 and "you rated us 5 of 5" in sent.text
        assert "Quick &amp; kind &lt;3" in sent.text
        changed = await new_client.post(link.split("?")[0], data={"_csrf_token": csrf_token(sent.text), "score": "3",
                                                                   "comment": ""})  # fmt: skip
        assert "you rated us 3 of 5" in changed.text
        assert await ratings() == [(3, "")]  # one rating per solve: changed, not added
        bad = await new_client.post(link.split("?")[0], data={"_csrf_token": csrf_token(sent.text), "score": "9"})
        assert bad.status_code == 422 and "Choose a rating from 1 to 5." in bad.text
        assert (await new_client.post(link.split("?")[0], data={"score": "1"})).status_code == 403  # CSRF

        # A forged or altered link opens nothing.
        rating_id = int(link.split("/support/rate/")[1].split("-")[0])
        other = csat.link_token("another secret key, not ours, long enough", rating_id)
        assert (await new_client.get(f"/support/rate/{other}")).status_code == 404
        assert (await new_client.get(f"/support/rate/{rating_id + 1}-{link.split('-')[1][:24]}")).status_code == 404

        await new_client.post(link.split("?")[0], data={"_csrf_token": csrf_token(sent.text), "score": "4",
                                                         "comment": "Fine in the end."})  # fmt: skip
        report = (await sam.get("/staff/support/satisfaction")).text
        assert "100%</strong> satisfied (rated 4 or 5) · average 4.0 of 5 · 1 rating" in report
        assert '<tr data-agent="sam"><td>sam</td><td>100%</td><td>4.0</td><td>1</td></tr>' in report
        assert "Fine in the end." in report
        assert 'id="worst-rated-articles"' in report
        workspace = (await sam.get(page)).text
        assert "<strong>4/5</strong> Happy" in workspace
    rated = await TicketEvent.select(TicketEvent.reason, TicketEvent.actor).where(TicketEvent.event == "rate")
    assert [e["reason"] for e in rated] == ["5/5", "3/5", "4/5"]
    assert {e["actor"] for e in rated} == {"customer:signed-link"}


async def test_the_owner_rates_on_the_ticket_page_and_a_reopened_ticket_asks_again(
    client: httpx.AsyncClient, new_client: httpx.AsyncClient, desk: SupportDesk, ada: Customer, agent: Any,
    job_ctx: dict[str, Any], mailbox: Mailbox,
) -> None:  # fmt: skip
    ticket_id = await service.open_ticket(desk, ada, subject="Video", category="library", body="It stutters.")
    page = f"/support/{ticket_id}"
    assert 'id="rating"' not in (await client.get(page)).text  # not solved yet
    await service.staff_reply(ticket_id, agent.id, "Fixed on our side.", then="solved")
    await dispatch_outbox(job_ctx)
    [mail] = await mailbox.wait_for("support_csat")
    link = link_in(mail, "/support/rate/").split("?")[0]

    shown = await client.get(page)
    assert 'id="rating"' in shown.text
    rated = await client.post(f"{page}/rating", data={"_csrf_token": csrf_token(shown.text), "score": "2",
                                                      "comment": "Slow."})  # fmt: skip
    assert rated.status_code == 303
    assert "You rated this 2 of 5" in (await client.get(page)).text
    assert await ratings() == [(2, "Slow.")]  # the page and the mail rate the same solve

    await sign_up(new_client, "eve@example.com")
    eve = await new_client.get("/support")
    refused = await new_client.post(f"{page}/rating", data={"_csrf_token": csrf_token(eve.text), "score": "5"})
    assert refused.status_code == 404
    assert await ratings() == [(2, "Slow.")]

    await service.customer_reply(desk, ada.id, ticket_id, "It is back.")  # reopens
    assert 'id="rating"' not in (await client.get(page)).text
    stale = await new_client.get(link)
    assert "reopened after it was solved" in stale.text and 'name="score"' not in stale.text
    sneaky = await new_client.post(link, data={"_csrf_token": csrf_token(stale.text), "score": "5"})
    assert sneaky.status_code == 422
    assert await ratings() == [(2, "Slow.")]

    await service.move(ticket_id, Event.solve, actor="staff:1")  # solved again: a new question, a new rating
    await dispatch_outbox(job_ctx)
    await mailbox.wait_for("support_csat", count=2)
    assert await ratings() == [(2, "Slow."), (None, "")]


async def test_satisfaction_per_agent_and_overall(
    client: httpx.AsyncClient, console: ConsoleSession, ada: Customer
) -> None:
    sam = await create_staff("sam", "sam@example.com", PASSWORD, "support")
    kim = await create_staff("kim", "kim@example.com", PASSWORD, "support")
    for agent_id, scores in ((sam.id, [5, 4, 2]), (kim.id, [1]), (None, [5])):
        for score in scores:
            ticket = await factories.ticket(customer=ada.id, status="solved", assignee=agent_id)
            rating_id = await csat.rating_for_solve(ticket.id)
            assert rating_id is None  # a ticket solved without a solve time is not rateable
            await ticket.update_self({"solved_at": ticket.created_at})
            rating_id = await csat.rating_for_solve(ticket.id)
            assert rating_id is not None
            await csat.rate(rating_id, score, f"said {score}", customer_id=ada.id)
    async with console("support", "sam") as http:
        report = (await http.get("/staff/support/satisfaction?days=7")).text
    assert "60%</strong> satisfied (rated 4 or 5) · average 3.4 of 5 · 5 ratings" in report
    assert '<tr data-agent="sam"><td>sam</td><td>67%</td><td>3.7</td><td>3</td></tr>' in report
    assert '<tr data-agent="kim"><td>kim</td><td>0%</td><td>1.0</td><td>1</td></tr>' in report
    assert "nobody (unassigned, no staff reply)</td><td>100%</td><td>5.0</td><td>1</td>" in report
