"""A customer subscribes from the pricing page (approving on the sandbox's PayPal page), upgrades after an
htmx preview, and cancels at the period end, in headless Chromium under the site's CSP."""

from __future__ import annotations

from playwright.async_api import Page, expect

from app.settings import SANDBOX_MOUNT_PATH
from tables.subscriptions import Subscription
from tests import factories
from tests.paypal import SandboxControl
from tests.portal import PASSWORD, link_in
from tests.servers import LiveServer
from tests.smtp import Mailbox


async def test_subscribe_upgrade_and_cancel(server: LiveServer, page: Page, mailbox: Mailbox) -> None:
    errors: list[str] = []
    # The sandbox's PayPal page is PayPal's stand-in, not the portal: only the portal's own pages are checked.
    page.on(
        "console",
        lambda m: errors.append(m.text) if m.type == "error" and SANDBOX_MOUNT_PATH not in m.location["url"] else None,
    )
    product = await factories.product(name="Library")
    await factories.plan(product=product.id, code="plus-monthly", name="Plus", amount_minor=1900, sort_order=1)
    await factories.plan(product=product.id, code="pro-monthly", name="Pro", amount_minor=2900, sort_order=2)

    await page.goto(server.url + "/register")
    await page.get_by_label("Your name").fill("Ada Lovelace")
    await page.get_by_label("E-mail").fill("ada@example.com")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_label("Country").select_option("GB")
    await page.get_by_role("button", name="Create account").click()
    [mail] = await mailbox.wait_for("verify_email")
    await page.goto(server.url + link_in(mail, "/verify-email"))
    await expect(page.locator(".flash-success")).to_contain_text("is confirmed")

    await page.goto(server.url + "/")
    await page.get_by_role("link", name="Choose Plus").click()
    await page.get_by_role("button", name="Pay $19.00 with PayPal").click()
    await expect(page).to_have_title("Pay with PayPal - PayPal Sandbox")
    await page.get_by_label("Email").fill("ada.buyer@example.com")
    await page.get_by_role("button", name="Approve and pay").click()
    await page.wait_for_url("**/account/subscriptions")
    await expect(page.locator(".flash-success")).to_contain_text("your subscription is live")
    await expect(page.locator(".subscription .status")).to_have_text("active")

    await page.get_by_label("Change to").select_option("pro-monthly")
    preview = page.locator(".preview-slot .preview")
    await expect(preview).to_contain_text("You pay")  # swapped in by htmx, no page load
    await expect(preview).to_contain_text("Your next bill: $29.00")
    await preview.get_by_role("button").click()
    await expect(page.locator(".flash-success")).to_contain_text("your new plan is active now")
    await expect(page.locator(".subscription h2")).to_contain_text("Pro")

    await page.get_by_role("link", name="Cancel").click()
    await page.get_by_label("Why are you leaving?").fill("Just trying it out")
    await page.get_by_role("button", name="Cancel my subscription").click()
    await expect(page.locator(".flash-success")).to_contain_text("You keep access until the end of this period")
    await expect(page.get_by_role("button", name="Keep my subscription")).to_be_visible()
    await page.screenshot(path=str(server.log_path.parent / "subscriptions.png"), full_page=True)

    [sub] = await Subscription.select(Subscription.status, Subscription.cancel_at_period_end)
    assert sub == {"status": "active", "cancel_at_period_end": True}
    assert not [e for e in errors if "Content Security Policy" in e], errors  # htmx and the pages obey the CSP
    async with SandboxControl(server.url + SANDBOX_MOUNT_PATH) as sandbox:
        await sandbox.flush()  # the server's own webhooks land before the tables are truncated
