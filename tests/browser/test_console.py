"""A support agent signs in at the staff door, works the queue, answers a customer and leaves a note for the
team; the customer sees the answer and never the note. From a paying customer's ticket the agent requests a
refund, a billing user approves it, and both the ticket and the customer's invoices show it."""

from __future__ import annotations

from playwright.async_api import Browser, Page, expect

from app import clock
from app.accounts.passwords import hash_password
from app.accounts.staff import create_staff
from app.settings import SANDBOX_MOUNT_PATH
from tables.accounts import Customer
from tables.support import Ticket, TicketMessage
from tests import factories
from tests.paying import paying_customer
from tests.paypal import SandboxControl, sandbox_gateway
from tests.portal import PASSWORD
from tests.servers import LiveServer


async def customer_ada() -> Customer:
    return await factories.customer(email="ada@example.com", name="Ada", password_hash=hash_password(PASSWORD),
                                    email_verified_at=clock.now())  # fmt: skip


async def staff_sign_in(page: Page, url: str, username: str) -> None:
    """Open a staff page: the staff log-in comes first, then the page."""
    await page.goto(url)
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()


async def customer_sign_in(page: Page, url: str) -> None:
    await page.goto(url)
    await page.get_by_label("E-mail").fill("ada@example.com")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()


async def test_staff_answer_and_note_and_the_customer_sees_only_the_answer(
    server: LiveServer, page: Page, browser: Browser
) -> None:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    ada = await customer_ada()
    ticket = await factories.ticket(customer=ada.id, subject="Where is my receipt?", requester_email=ada.email)
    await TicketMessage(ticket=ticket.id, author_kind="customer", body="I paid yesterday.").save()
    await create_staff("sam", "sam@example.com", PASSWORD, "support")

    await staff_sign_in(page, server.url + "/staff/support", "sam")
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
    await customer_sign_in(mine, f"{server.url}/login?next=/support/{ticket.id}")
    await expect(mine.locator(".thread .message-body")).to_have_text(["I paid yesterday.", "Sent again just now."])
    await expect(mine.get_by_text("mailbox was full")).to_have_count(0)
    await customer.close()
    assert (await Ticket.objects().get(Ticket.id == ticket.id)).status == "pending"  # type: ignore[union-attr]


async def test_support_requests_a_refund_billing_approves_it_and_the_customer_sees_it(
    server: LiveServer, page: Page, browser: Browser
) -> None:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    ada = await customer_ada()
    async with SandboxControl(server.url + SANDBOX_MOUNT_PATH) as sandbox:  # the server's own PayPal sandbox
        paying = await paying_customer(sandbox_gateway(sandbox.api_url), sandbox, ada.id, "ada.buyer@example.com")
        ticket = await factories.ticket(customer=ada.id, subject="Charged twice", requester_email=ada.email)
        await TicketMessage(ticket=ticket.id, author_kind="customer", body="I paid twice this month.").save()
        await create_staff("sam", "sam@example.com", PASSWORD, "support")
        await create_staff("bob", "bob@example.com", PASSWORD, "billing")
        refund = f"Refund $4.00 of payment #{paying.payment_id}"

        await staff_sign_in(page, f"{server.url}/staff/support/tickets/{ticket.id}", "sam")
        billing = page.locator("#billing")
        asking = billing.locator("details.billing-action").filter(has_text="Request refund")
        await asking.get_by_text("Request refund…").click()
        await asking.get_by_label("Amount (USD)").fill("4.00")
        await asking.get_by_label("Why").fill("charged twice")
        await asking.get_by_role("button", name="Request refund").click()  # htmx: the workspace swaps in place
        await expect(billing.locator(".flash-success")).to_contain_text(f"Requested: {refund}.")
        await expect(billing.locator(".billing-requests")).to_contain_text(f"{refund} requested by sam")

        approver = await browser.new_context()
        desk = await approver.new_page()
        await staff_sign_in(desk, f"{server.url}/staff/billing/requests", "bob")
        await expect(desk.locator(".request h3")).to_have_text(refund)
        await desk.get_by_role("button", name="Approve").click()
        await expect(desk.locator(".flash-success")).to_contain_text("its credit note follows within seconds")
        await approver.close()

        await page.reload()
        await expect(page.locator(".message.internal .message-body").last).to_have_text(
            f"Refunded $4.00 of payment #{paying.payment_id}: charged twice (requested by sam, approved by bob)"
        )
        customer = await browser.new_context()
        mine = await customer.new_page()
        await customer_sign_in(mine, f"{server.url}/login?next=/account/invoices")
        await expect(mine.locator(".history-refund")).to_contain_text("-$4.00")
        await customer.close()
        assert [r["amount"] for r in (await sandbox.ledger())["refunds"]] == ["4.00"]
        assert not errors, errors
        await sandbox.flush()  # the server's own webhooks land before the tables are truncated
