"""A support agent signs in at the staff door, works the queue, answers a customer and leaves a note for the
team; the customer sees the answer and never the note."""

from __future__ import annotations

from playwright.async_api import Browser, Page, expect

from app import clock
from app.accounts.passwords import hash_password
from app.accounts.staff import create_staff
from tables.support import Ticket, TicketMessage
from tests import factories
from tests.portal import PASSWORD
from tests.servers import LiveServer


async def test_staff_answer_and_note_and_the_customer_sees_only_the_answer(
    server: LiveServer, page: Page, browser: Browser
) -> None:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    ada = await factories.customer(email="ada@example.com", name="Ada", password_hash=hash_password(PASSWORD),
                                   email_verified_at=clock.now())  # fmt: skip
    ticket = await factories.ticket(customer=ada.id, subject="Where is my receipt?", requester_email=ada.email)
    await TicketMessage(ticket=ticket.id, author_kind="customer", body="I paid yesterday.").save()
    await create_staff("sam", "sam@example.com", PASSWORD, "support")

    await page.goto(server.url + "/staff/support")  # not signed in: the staff log-in, then back
    await page.get_by_label("Username").fill("sam")
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name="Support queue")).to_be_visible()
    await page.get_by_role("link", name="Where is my receipt?").click()

    composer = page.get_by_label("Reply to the customer, or a note for staff")
    await composer.fill("Sent again just now.")
    await page.get_by_role("button", name="Send reply").click()  # htmx: the workspace is swapped in place
    await expect(page.locator(".flash-success")).to_contain_text("Reply sent to the customer")
    await composer.fill("Their mailbox was full last month.")
    await page.get_by_role("button", name="Add internal note").click()
    await expect(page.locator(".message.internal .message-body")).to_have_text("Their mailbox was full last month.")
    await expect(page.locator(".ticket-state")).to_have_text("pending")
    assert not [e for e in errors if "Content Security Policy" in e], errors

    customer = await browser.new_context()
    mine = await customer.new_page()
    await mine.goto(f"{server.url}/login?next=/support/{ticket.id}")
    await mine.get_by_label("E-mail").fill("ada@example.com")
    await mine.get_by_label("Password").fill(PASSWORD)
    await mine.get_by_role("button", name="Log in").click()
    await expect(mine.locator(".thread .message-body")).to_have_text(["I paid yesterday.", "Sent again just now."])
    await expect(mine.get_by_text("mailbox was full")).to_have_count(0)
    await customer.close()
    assert (await Ticket.objects().get(Ticket.id == ticket.id)).status == "pending"  # type: ignore[union-attr]
