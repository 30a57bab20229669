"""A customer's requests in the portal: open one with files, follow it, reply, say it is solved; nobody else
sees it, files are judged by their bytes, and the limits hold."""

from __future__ import annotations

import re
from collections.abc import Sequence

import httpx
import pytest
from litestar import Litestar
from piccolo.apps.user.tables import BaseUser

from app.support import service, views
from app.support.service import SupportDesk
from tables.accounts import Customer
from tables.support import Ticket, TicketAttachment, TicketEvent, TicketMessage
from tests.integration.staff import staff_session
from tests.integration.support.conftest import with_support
from tests.portal import csrf_token, sign_up
from tests.support import EXE, PDF, PNG

File = tuple[str, bytes, str]
NO_FILE: File = ("", b"", "application/octet-stream")  # what a browser sends for an empty file input


async def open_ticket(
    client: httpx.AsyncClient,
    subject: str = "The video stops after a minute",
    body: str = "Every episode stops at 1:00 on my phone.",
    category: str = "technical",
    files: Sequence[File] = (NO_FILE,),
) -> httpx.Response:
    page = await client.get("/support/new")
    assert page.status_code == 200, page.text
    draft = re.search(r'name="draft" value="([^"]+)"', page.text)
    assert draft
    form = {"_csrf_token": csrf_token(page.text), "subject": subject, "category": category, "body": body,
            "draft": draft.group(1)}  # fmt: skip
    return await client.post("/support/new", data=form, files=[("attachments", f) for f in files])


async def reply(client: httpx.AsyncClient, ticket_id: int, body: str, *, htmx: bool = False) -> httpx.Response:
    page = await client.get(f"/support/{ticket_id}")
    headers = {"HX-Request": "true"} if htmx else {}
    return await client.post(f"/support/{ticket_id}/reply", data={"_csrf_token": csrf_token(page.text), "body": body},
                             files=[("attachments", NO_FILE)], headers=headers)  # fmt: skip


async def the_ticket() -> Ticket:
    [ticket] = await Ticket.objects()
    return ticket


async def test_a_customer_opens_a_request_with_a_screenshot_and_follows_it(
    client: httpx.AsyncClient, ada: Customer
) -> None:
    new_form = await client.get("/support/new")
    assert 'hx-trigger="keyup changed delay:300ms"' in new_form.text
    assert 'href="/support"' in new_form.text  # the nav's Support link, for a logged-in customer

    sent = await open_ticket(client, files=[("screen.png", PNG, "image/png")])
    assert sent.status_code == 303, sent.text
    ticket = await the_ticket()
    assert sent.headers["location"] == f"/support/{ticket.id}"
    assert (ticket.customer, ticket.status, ticket.channel, ticket.category) == (ada.id, "new", "web", "technical")
    assert ticket.requester_email == ada.email and ticket.verified

    page = await client.get(sent.headers["location"])
    assert "The video stops after a minute" in page.text
    assert "Every episode stops at 1:00 on my phone." in page.text
    assert "Thank you: we have your request" in page.text
    [file] = await TicketAttachment.objects()
    assert (file.filename, file.content_type, file.size) == ("screen.png", "image/png", len(PNG))
    assert f'href="/support/files/{file.id}"' in page.text

    download = await client.get(f"/support/files/{file.id}")
    assert download.status_code == 200
    assert download.content == PNG
    assert download.headers["content-type"] == "image/png"
    assert download.headers["content-disposition"].startswith('attachment; filename="screen.png"')
    assert download.headers["x-content-type-options"] == "nosniff"

    listing = await client.get("/support")
    assert f'data-ticket="{ticket.id}" data-status="new"' in listing.text
    assert "Waiting for us" in listing.text
    events = await TicketEvent.select(TicketEvent.event, TicketEvent.to_status, TicketEvent.actor)
    assert events == [{"event": "create", "to_status": "new", "actor": f"customer:{ada.id}"}]


async def test_files_are_judged_by_their_bytes_never_by_their_names(
    client: httpx.AsyncClient, ada: Customer, desk: SupportDesk
) -> None:
    folder = desk.settings.support.attachments_dir
    on_disk = set(folder.iterdir()) if folder.exists() else set()
    refused = await open_ticket(client, subject="My cat", files=[("cat.png", EXE, "image/png")])
    assert refused.status_code == 422
    assert "cat.png is not a kind of file we accept" in refused.text
    assert 'value="My cat"' in refused.text  # what was typed is kept
    assert not await Ticket.exists()
    assert (set(folder.iterdir()) if folder.exists() else set()) == on_disk  # the refused file was never written

    kept = await open_ticket(client, files=[("invoice.txt", PDF, "text/plain"),
                                            ("page.html", b"<script>alert(1)</script>", "text/html")])  # fmt: skip
    assert kept.status_code == 303, kept.text
    files = await TicketAttachment.select(TicketAttachment.id, TicketAttachment.filename, TicketAttachment.content_type)
    assert [(f["filename"], f["content_type"]) for f in files] == [
        ("invoice.txt.pdf", "application/pdf"),  # a PDF, whatever its name said
        ("page.html.txt", "text/plain"),  # markup is only ever text here, and downloaded as such
    ]
    html = await client.get(f"/support/files/{files[1]['id']}")
    assert html.headers["content-type"].startswith("text/plain")
    assert html.headers["content-disposition"].startswith("attachment;")
    assert html.headers["x-content-type-options"] == "nosniff"


async def test_at_most_three_files_each_within_the_size_limit(
    client: httpx.AsyncClient, ada: Customer, app: Litestar, desk: SupportDesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app.state, "support", with_support(desk, max_attachment_mb=1))
    four = await open_ticket(client, files=[(f"shot{n}.png", PNG, "image/png") for n in range(4)])
    assert four.status_code == 422
    assert "at most 3 files a message" in four.text
    big = await open_ticket(client, files=[("big.pdf", PDF + bytes(1024 * 1024), "application/pdf")])
    assert big.status_code == 422
    assert "big.pdf is 1.0 MB; files are limited to 1 MB." in big.text
    assert not await Ticket.exists()


async def test_messages_have_a_size_limit_and_everything_typed_is_escaped(
    client: httpx.AsyncClient, ada: Customer
) -> None:
    too_long = await open_ticket(client, body="x" * (service.MAX_MESSAGE + 1))
    assert too_long.status_code == 422
    assert "Keep it under 10,000 characters" in too_long.text

    sent = await open_ticket(client, subject="<script>alert('s')</script>", body="<img src=x onerror=alert(1)>")
    assert sent.status_code == 303
    page = await client.get(sent.headers["location"])
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(&#39;s&#39;)&lt;/script&gt;" in page.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in page.text


async def test_opening_requests_is_rate_limited(
    client: httpx.AsyncClient, ada: Customer, app: Litestar, desk: SupportDesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app.state, "support", with_support(desk, tickets_per_hour=2))
    assert [(await open_ticket(client, subject=f"Question {n}")).status_code for n in range(2)] == [303, 303]
    third = await open_ticket(client, subject="Question 3")
    assert third.status_code == 429
    assert "Try again in" in third.text
    assert int(third.headers["retry-after"]) > 0
    assert 'value="Question 3"' in third.text
    assert await Ticket.count() == 2


async def test_only_the_owner_sees_a_request_and_its_files(
    client: httpx.AsyncClient, new_client: httpx.AsyncClient, ada: Customer, app: Litestar
) -> None:
    sent = await open_ticket(client, files=[("screen.png", PNG, "image/png")])
    ticket = await the_ticket()
    [file] = await TicketAttachment.objects()
    await sign_up(new_client, "bob@example.com")
    assert (await new_client.get(f"/support/{ticket.id}")).status_code == 404
    assert (await new_client.get(f"/support/files/{file.id}")).status_code == 404
    page = await new_client.get("/support")
    assert "data-ticket=" not in page.text and "You have not asked us anything yet." in page.text
    token = csrf_token(page.text)
    attempt = await new_client.post(f"/support/{ticket.id}/reply", data={"_csrf_token": token, "body": "Me too"},
                                    files=[("attachments", NO_FILE)])  # fmt: skip
    assert attempt.status_code == 404
    assert (await new_client.post(f"/support/{ticket.id}/solve", data={"_csrf_token": token})).status_code == 404
    assert await TicketMessage.count() == 1
    assert (await Ticket.select(Ticket.status).first()) == {"status": "new"}

    new_client.cookies.clear()  # nobody logged in: pages ask for a log-in, files do not exist
    anonymous = await new_client.get(sent.headers["location"])
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    assert (await new_client.get(f"/support/files/{file.id}")).status_code == 404

    # Support staff signed in at /admin/ may download it (the console will link to it); other staff may not.
    async with staff_session(app, "support") as support:
        staff_download = await support.get(f"/support/files/{file.id}")
        assert staff_download.status_code == 200 and staff_download.content == PNG
    async with staff_session(app, "content") as content:
        assert (await content.get(f"/support/files/{file.id}")).status_code == 404


async def test_a_reply_puts_the_request_back_on_the_desk_and_solved_is_the_customers_word(
    client: httpx.AsyncClient, ada: Customer, agent: BaseUser
) -> None:
    await open_ticket(client)
    ticket = await the_ticket()
    await service.staff_reply(ticket.id, agent.id, "Which phone is it?")
    assert "Waiting for your reply" in (await client.get("/support")).text

    answered = await reply(client, ticket.id, "An old Android <b>phone</b>", htmx=True)
    assert answered.status_code == 200
    assert answered.text.lstrip().startswith('<div id="conversation">')  # the swapped part, not a page
    assert "An old Android &lt;b&gt;phone&lt;/b&gt;" in answered.text
    assert (await Ticket.select(Ticket.status).first()) == {"status": "open"}

    page = await client.get(f"/support/{ticket.id}")
    solved = await client.post(f"/support/{ticket.id}/solve", data={"_csrf_token": csrf_token(page.text)})
    assert solved.status_code == 303
    assert "Glad it is sorted" in (await client.get(solved.headers["location"])).text
    assert (await Ticket.select(Ticket.status).first()) == {"status": "solved"}

    again = await reply(client, ticket.id, "It happened again.")
    assert again.status_code == 303
    assert (await Ticket.select(Ticket.status).first()) == {"status": "open"}
    events = await TicketEvent.select(TicketEvent.event, TicketEvent.from_status, TicketEvent.to_status).order_by(
        TicketEvent.id
    )
    assert [(e["event"], e["from_status"], e["to_status"]) for e in events] == [
        ("create", "", "new"),
        ("await_customer", "new", "pending"),
        ("reopen", "pending", "open"),
        ("solve", "open", "solved"),
        ("reopen", "solved", "open"),
    ]


async def test_internal_notes_never_reach_the_customer(
    client: httpx.AsyncClient, ada: Customer, agent: BaseUser
) -> None:
    await open_ticket(client)
    ticket = await the_ticket()
    await service.staff_reply(ticket.id, agent.id, "VIP, be quick", internal=True)
    page = await client.get(f"/support/{ticket.id}")
    assert "VIP, be quick" not in page.text
    assert "VIP, be quick" in [m.body for m in (await views.ticket_for_staff(ticket.id)).messages]
    assert (await Ticket.select(Ticket.status).first()) == {"status": "new"}  # a note moves nothing


async def test_a_closed_request_takes_no_more_replies(client: httpx.AsyncClient, ada: Customer) -> None:
    await open_ticket(client)
    ticket = await the_ticket()
    await Ticket.update({Ticket.status: "closed"}).where(Ticket.id == ticket.id)
    page = await client.get(f"/support/{ticket.id}")
    assert "This request is closed." in page.text and "Send reply" not in page.text
    refused = await reply(client, ticket.id, "Hello?", htmx=True)
    assert "This request is closed. Please open a new one" in refused.text
    assert await TicketMessage.count() == 1
