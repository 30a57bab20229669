"""/help is public: categories with their published articles, article pages rendered from Markdown (raw HTML
shown as text), related articles; drafts, scheduled and archived articles do not exist for readers."""

from __future__ import annotations

from datetime import timedelta

import httpx
from litestar import Litestar

from app import clock
from tests.integration.help.helpers import article, category, listed


async def test_categories_list_their_published_articles_in_order(client: httpx.AsyncClient) -> None:
    billing = await category(name="Billing", slug="billing", sort_order=2, description="Money matters.")
    start = await category(name="Getting started", slug="start", sort_order=1)
    await category(name="Empty", slug="empty", sort_order=0)
    await article(title="Invoices", slug="invoices", category=billing.id)
    await article(title="Refunds", slug="refunds", category=billing.id, publish_state="draft")
    await article(title="Subscribing", slug="subscribing", category=start.id)
    await article(title="Odds and ends", slug="odds")
    home = await client.get("/help")
    assert home.status_code == 200
    text = home.text
    assert text.index("Getting started") < text.index("Billing") < text.index("More articles")  # none: last
    assert 'data-category="empty"' not in text  # nothing published in it
    assert "Money matters." in text and "/help/invoices" in text and "/help/odds" in text
    assert "Refunds" not in text
    assert listed(await client.get("/help/category/billing")) == ["invoices"]
    assert (await client.get("/help/category/nothing-here")).status_code == 404


async def test_an_article_page_renders_markdown_without_raw_html(client: httpx.AsyncClient) -> None:
    body = "## Steps\n\n1. Open [Billing](/account/billing)\n2. Press **Pay now**\n\n<script>alert(1)</script>"
    await article(title="Paying an invoice", slug="paying", summary="How to pay.", body=body)
    page = await client.get("/help/paying")
    assert page.status_code == 200
    assert "<h2>Steps</h2>" in page.text
    assert '<a href="/account/billing">Billing</a>' in page.text and "<strong>Pay now</strong>" in page.text
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert 'id="was-it-helpful"' in page.text and "How to pay." in page.text


async def test_drafts_scheduled_and_archived_articles_are_404(client: httpx.AsyncClient) -> None:
    later = clock.now() + timedelta(days=1)
    await article(slug="draft", publish_state="draft")
    await article(slug="soon", publish_state="scheduled", publish_at=later)
    await article(slug="retired", publish_state="archived")
    for slug in ("draft", "soon", "retired", "never-written"):
        page = await client.get(f"/help/{slug}")
        assert page.status_code == 404, slug
        assert "<html" in page.text.lower()  # the portal's 404 page, not a bare error


async def test_related_articles_share_the_category_or_words(client: httpx.AsyncClient) -> None:
    billing = await category(slug="billing")
    other = await category(slug="account")
    await article(title="Changing your PayPal account", slug="paypal", category=billing.id)
    await article(title="Invoices and receipts", slug="invoices", category=billing.id)  # same category
    await article(title="Why PayPal declined", slug="declined", category=other.id)  # a shared word
    await article(title="PayPal account in another currency", slug="currency", category=billing.id)  # both
    await article(title="Two-factor authentication", slug="unrelated", category=other.id)
    await article(title="PayPal account draft", slug="hidden", category=billing.id, publish_state="draft")
    page = await client.get("/help/paypal")
    related = page.text.split('id="related-heading"')[1]
    links = [part.split('"')[0] for part in related.split('href="/help/')[1:]]
    assert links == ["currency", "declined", "invoices"]


async def test_related_articles_with_neither_in_common(app: Litestar, client: httpx.AsyncClient) -> None:
    await article(title="The only one", slug="alone")
    page = await client.get("/help/alone")
    assert page.status_code == 200 and 'id="related-heading"' not in page.text
