from __future__ import annotations

from playwright.async_api import Page, expect

from app.demo import seed_demo
from app.settings import load_settings
from tests.servers import LiveServer


async def test_home_page_shows_the_demo_plans(server: LiveServer, page: Page) -> None:
    await seed_demo(load_settings())
    response = await page.goto(server.url + "/")
    assert response is not None
    assert response.status == 200
    await expect(page).to_have_title("Plans · Recurra")
    cards = page.locator(".plan-card")
    await expect(cards).to_have_count(6)
    pro = page.locator('[data-plan="pro-monthly"]')
    await expect(pro.locator(".plan-price")).to_contain_text("$29.00")
    await expect(pro.locator(".plan-features")).to_contain_text("Downloads (50)")
    # The menu folds behind a button on a phone-sized screen and opens on tap.
    await expect(page.locator(".nav-links")).to_be_hidden()
    await page.locator(".nav-burger").click()
    await expect(page.get_by_role("link", name="Plans")).to_be_visible()
    await page.screenshot(path=str(server.log_path.parent / "home.png"), full_page=True)
    assert await page.evaluate("typeof htmx") == "object"  # the vendored htmx loaded
