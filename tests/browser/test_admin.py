"""piccolo-admin works under the site's Content-Security-Policy: staff log in and see the tables."""

from __future__ import annotations

from playwright.async_api import Page, expect

from app.accounts.staff import create_staff
from tests.servers import LiveServer


async def test_staff_log_in_to_the_admin(server: LiveServer, page: Page) -> None:
    await create_staff("root", "root@example.com", "correct horse battery staple")
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
    await page.set_viewport_size({"width": 1280, "height": 900})
    await page.goto(server.url + "/admin")
    await page.locator("input[name=username]").fill("root")
    await page.locator("input[name=password]").fill("correct horse battery staple")
    await page.get_by_role("button", name="Login").click()
    await expect(page.get_by_role("link", name="invoice", exact=True)).to_be_visible(timeout=15_000)
    await expect(page.get_by_role("link", name="plan", exact=True)).to_be_visible()
    assert not blocked, blocked
