"""A person signs up, confirms their e-mail from the mail they got, turns on 2FA and logs in with a code."""

from __future__ import annotations

from datetime import timedelta

from playwright.async_api import Page, expect

from app import clock
from tests.portal import PASSWORD, link_in, totp_code
from tests.servers import LiveServer
from tests.smtp import Mailbox


async def test_register_verify_enable_two_factor_and_log_in(server: LiveServer, page: Page, mailbox: Mailbox) -> None:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    await page.goto(server.url + "/")
    await page.locator(".nav-burger").click()
    await page.get_by_role("link", name="Sign up").click()
    await page.get_by_label("Your name").fill("Ada Lovelace")
    await page.get_by_label("E-mail").fill("ada@example.com")
    await page.get_by_label("Password").fill("short")
    await page.get_by_label("Country").select_option("GB")
    await page.get_by_role("button", name="Create account").click()
    await expect(page.locator(".field-error")).to_contain_text("Use at least 12 characters")
    await expect(page.get_by_label("E-mail")).to_have_value("ada@example.com")  # kept; the password is not
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    await expect(page.locator(".flash-success")).to_contain_text("We sent a confirmation link")
    await expect(page.locator(".badge-warn")).to_have_text("not confirmed")

    [mail] = await mailbox.wait_for("verify_email")
    await page.goto(server.url + link_in(mail, "/verify-email"))
    await expect(page.locator(".flash-success")).to_contain_text("is confirmed")
    await expect(page.locator(".badge-ok")).to_have_text("confirmed")

    await page.goto(server.url + "/account/security")
    await page.get_by_role("button", name="Set up two-factor authentication").click()
    await expect(page.locator(".qr svg")).to_be_visible()
    secret = (await page.locator("[data-secret]").inner_text()).strip()
    await page.get_by_label("Code from the app").fill(totp_code(secret))
    await page.get_by_role("button", name="Turn on").click()
    await expect(page.get_by_role("heading", name="Two-factor authentication is on")).to_be_visible()
    await expect(page.locator(".codes li")).to_have_count(10)

    await page.goto(server.url + "/")
    await page.locator(".nav-burger").click()
    await page.get_by_role("button", name="Log out").click()
    await expect(page.locator(".flash-success")).to_contain_text("You are logged out.")

    await page.goto(server.url + "/account")  # asks for a log-in, then comes back here
    await page.get_by_label("E-mail").fill("ada@example.com")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    # Each code works once: the one that turned 2FA on is spent. The app's next code is accepted already (a step
    # of drift is allowed either way), so nobody waits for the next 30 seconds.
    await page.get_by_label("Code").fill(totp_code(secret, clock.now() + timedelta(seconds=30)))
    await page.get_by_role("button", name="Verify").click()
    await expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    assert page.url.endswith("/account")
    assert not [e for e in errors if "Content Security Policy" in e], errors
