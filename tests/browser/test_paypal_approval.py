"""A buyer approves a payment on the bundled PayPal sandbox's page in Chromium; Recurra then captures it."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from playwright.async_api import Page, expect

from app.payments import service
from app.settings import SANDBOX_MOUNT_PATH
from tables.billing import Invoice
from tables.payments import Payment, PaymentMethod
from tests import factories
from tests.paypal import SandboxControl, sandbox_gateway
from tests.servers import LiveServer


async def test_buyer_approves_on_the_sandbox_page(server: LiveServer, page: Page) -> None:
    api_url = server.url + SANDBOX_MOUNT_PATH
    gateway = sandbox_gateway(api_url, timeout_s=10)
    invoice = await factories.invoice(status=Invoice.Status.open, total_minor=2900, number="INV-2026-000001")
    started = await service.start_checkout_payment(
        gateway, invoice.id, return_url=server.url + "/?paypal=return", cancel_url=server.url + "/?paypal=cancel"
    )
    assert started.approve_url is not None

    await page.goto(started.approve_url)
    await expect(page).to_have_title("Pay with PayPal - PayPal Sandbox")
    await expect(page.locator(".amount")).to_have_text("29.00 USD")
    await expect(page.locator(".merchant")).to_have_text("Recurra Test")
    await page.get_by_label("Email").fill("maria@example.com")
    await page.screenshot(path=str(server.log_path.parent / "paypal-approval.png"), full_page=True)
    await page.get_by_role("button", name="Approve and pay").click()
    await page.wait_for_url("**/?paypal=return&token=*")

    query = parse_qs(urlsplit(page.url).query)
    assert query["PayerID"][0]
    captured = await service.capture_checkout_payment(gateway, query["token"][0])

    assert captured.status == Payment.Status.succeeded
    [method] = await PaymentMethod.select(PaymentMethod.label)
    assert method["label"] == "PayPal m***@example.com"
    async with SandboxControl(api_url) as sandbox:
        await sandbox.flush()  # the server's own webhooks land before the tables are truncated
