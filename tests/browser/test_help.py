"""A visitor searches the help centre, opens an article and answers "Was this helpful?": the answer replaces the
question in place (htmx) and the article's counts change."""

from __future__ import annotations

from playwright.async_api import Page, expect

from app.support.help import service
from tables.support import HelpCategory, KnowledgeBaseArticle
from tests.servers import LiveServer


async def test_search_read_and_say_it_helped(server: LiveServer, page: Page) -> None:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    billing = await HelpCategory.insert(HelpCategory(name="Billing", slug="billing")).returning(HelpCategory.id)
    for slug, title, body in (
        ("change-paypal", "Changing your PayPal account", "Open **Billing** and use another PayPal account."),
        ("invoices", "Invoices and receipts", "Every invoice is a PDF."),
    ):
        await KnowledgeBaseArticle.insert(
            KnowledgeBaseArticle(slug=slug, title=title, body=body, category=billing[0]["id"],
                                 publish_state=KnowledgeBaseArticle.PublishState.published)
        )  # fmt: skip

    await page.goto(server.url + "/help")
    await expect(page.locator(".help-section")).to_have_count(1)
    await page.get_by_label("Search the help centre").fill("paypal")
    hits = page.locator(".help-hit")
    await expect(hits).to_have_count(1)  # htmx swapped the results in
    await expect(hits.locator(".snippet mark").first).to_have_text("PayPal")
    await hits.get_by_role("link", name="Changing your PayPal account").click()

    await expect(page.locator("h1")).to_have_text("Changing your PayPal account")
    await expect(page.locator(".prose strong")).to_have_text("Billing")
    await page.get_by_role("button", name="Yes").click()
    await expect(page.locator(".vote-thanks")).to_contain_text("this article helped you")
    assert page.url.endswith("/help/change-paypal")  # answered in place, no reload

    (rating,) = await service.worst_rated(5)
    assert (rating.slug, rating.helpful_yes, rating.helpful_no) == ("change-paypal", 1, 0)
    await page.get_by_role("button", name="Change my answer to “No”").click()
    await expect(page.locator(".vote-thanks")).to_contain_text("did not help you")
    (rating,) = await service.worst_rated(5)
    assert (rating.helpful_yes, rating.helpful_no) == (0, 1)
    assert not [e for e in errors if "Content Security Policy" in e], errors
