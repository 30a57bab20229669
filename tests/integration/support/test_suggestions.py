"""While the subject is typed, help articles are suggested; a form visit in which one was opened and no request
followed within a day counts as deflected, and only then."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx

from app import clock
from app.support import deflection, help_search
from tables.accounts import Customer
from tables.support import HelpDeflection
from tests.integration.support.conftest import article
from tests.integration.support.test_tickets_portal import open_ticket

START = datetime(2026, 4, 6, 14, 0, tzinfo=UTC)


async def pause_articles() -> None:
    await article("Pause your subscription", "Open **Account -> Subscriptions** and choose *Pause*.")
    await article("Change your plan", "Plans change from Account -> Subscriptions; pause is not needed.")
    await article("Pause drafts", "A draft about pausing.", published=False)
    await article("Reset your password", "Use the link on the log-in page.")


async def test_help_search_finds_published_articles_titles_first(client: httpx.AsyncClient) -> None:
    await pause_articles()
    assert [hit.title for hit in await help_search("how do I PAUSE?", 5)] == [
        "Pause your subscription",
        "Change your plan",
    ]
    [hit] = await help_search("pause subscription", 1)
    # The help centre's snippet: the body's text escaped, matched words marked (and nothing else as HTML).
    assert hit.snippet == "Open Account -&gt; <mark>Subscriptions</mark> and choose <mark>Pause</mark>"
    assert await help_search("a %_ b", 5) == []  # nothing searchable (common words and signs): no query at all


async def test_articles_appear_while_the_subject_is_typed_and_open_in_place(
    client: httpx.AsyncClient, ada: Customer
) -> None:
    await pause_articles()
    page = await client.get("/support/new")
    draft = re.search(r'name="draft" value="([^"]+)"', page.text)
    assert draft
    typed = await client.get("/support/suggestions", params={"subject": "pause", "draft": draft.group(1)},
                             headers={"HX-Request": "true"})  # fmt: skip
    assert typed.status_code == 200
    assert "<html" not in typed.text
    assert re.findall(r'data-article="([^"]+)"', typed.text) == ["pause-your-subscription", "change-your-plan"]
    assert (await client.get("/support/suggestions", params={"subject": "zebra"})).text.strip() == ""

    link = re.search(r'hx-get="([^"]+)"', typed.text)
    assert link
    opened = await client.get(link.group(1).replace("&amp;", "&"), headers={"HX-Request": "true"})
    assert opened.status_code == 200 and "<html" not in opened.text
    assert "<strong>Account -&gt; Subscriptions</strong>" in opened.text  # Markdown rendered, text escaped
    visit = await HelpDeflection.objects().first()
    assert visit is not None
    assert (visit.customer, visit.draft, visit.outcome, visit.articles_opened) == (ada.id, draft.group(1), "pending", 1)

    client.cookies.clear()
    assert (await client.get("/support/suggestions", params={"subject": "pause"})).status_code == 303  # log in first


async def test_a_visit_counts_as_deflected_only_if_no_request_follows_within_a_day(
    client: httpx.AsyncClient, ada: Customer
) -> None:
    await pause_articles()
    [first, second] = await help_search("pause", 2)
    with clock.frozen_at(START):
        await deflection.record_opened(ada.id, "visit-one-aaaaaaaaaaaa", first.id)
        await deflection.record_opened(ada.id, "visit-one-aaaaaaaaaaaa", second.id)  # same visit: one count
        await deflection.record_opened(ada.id, "visit-two-bbbbbbbbbbbb", first.id)
        await deflection.record_opened(ada.id, "visit-three-cccccccccc", first.id)
        await deflection.record_opened(ada.id, "bad draft", first.id)  # not a form's id: ignored
    with clock.frozen_at(START + timedelta(hours=1)):
        sent = await open_ticket(client, subject="Pause did not work")
        assert sent.status_code == 303
    ticket_id = int(sent.headers["location"].rsplit("/", 1)[1])
    await deflection.mark_submitted(ada.id, "visit-three-cccccccccc", ticket_id)  # visit three sent its form

    with clock.frozen_at(START + timedelta(hours=23)):
        assert await deflection.settle() == 0  # a day has not passed: they may still come back
    with clock.frozen_at(START + timedelta(days=1)):
        assert await deflection.settle() == 2
    outcomes = {row["draft"]: (row["outcome"], row["articles_opened"], row["ticket"])
                for row in await HelpDeflection.select()}  # fmt: skip
    assert outcomes == {
        # A request opened within the day (from another visit) shows the articles did not answer it.
        "visit-one-aaaaaaaaaaaa": ("ticket_later", 2, ticket_id),
        "visit-two-bbbbbbbbbbbb": ("ticket_later", 1, ticket_id),
        "visit-three-cccccccccc": ("submitted", 1, ticket_id),
    }
    report = await deflection.report(START, START + timedelta(days=1))
    assert (report.deflected, report.submitted, report.ticket_later, report.pending) == (0, 1, 2, 0)


async def test_opening_an_article_and_asking_nothing_more_is_a_deflection(
    client: httpx.AsyncClient, ada: Customer
) -> None:
    await pause_articles()
    [hit] = await help_search("password", 1)
    with clock.frozen_at(START):
        await deflection.record_opened(ada.id, "visit-four-dddddddddddd", hit.id)
    with clock.frozen_at(START + timedelta(days=2)):
        await open_ticket(client, subject="Something else, much later")  # outside the day: does not count
        assert await deflection.settle() == 1
    report = await deflection.report(START, START + timedelta(days=1))
    assert (report.deflected, report.settled, report.rate) == (1, 1, 1.0)


async def test_sending_the_form_marks_its_visit_submitted(client: httpx.AsyncClient, ada: Customer) -> None:
    await pause_articles()
    page = await client.get("/support/new")
    draft = re.search(r'name="draft" value="([^"]+)"', page.text)
    assert draft
    [hit] = await help_search("password", 1)
    await client.get(f"/support/suggestions/{hit.id}", params={"draft": draft.group(1)})
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert token
    sent = await client.post(
        "/support/new",
        data={"_csrf_token": token.group(1), "subject": "Password", "category": "account", "body": "Still stuck",
              "draft": draft.group(1)},
        files=[("attachments", ("", b"", "application/octet-stream"))],
    )  # fmt: skip
    assert sent.status_code == 303
    visit = await HelpDeflection.objects().first()
    assert visit is not None and visit.outcome == "submitted" and visit.ticket is not None
