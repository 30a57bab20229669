"""Help pages are cached like the catalog's: a hit runs no SQL; any change support staff make in the admin (an
article, a category), and a scheduled article publishing itself, retire the cached pages at once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from litestar import Litestar

from app import clock
from tables.support import KnowledgeBaseArticle
from tasks.content import publish_scheduled
from tests.integration.content.helpers import QueryCounter, customer_logged_in
from tests.integration.help.helpers import article, category
from tests.integration.staff import staff_session, table


async def test_a_cache_hit_runs_no_sql(client: httpx.AsyncClient, sql_queries: QueryCounter) -> None:
    billing = await category(slug="billing", name="Billing")
    await article(title="Invoices and receipts", slug="invoices", category=billing.id)
    await article(title="Refunds", slug="refunds", category=billing.id)
    paths = ("/help", "/help/search?q=invoice", "/help/search?q=nothing-like-it", "/help/invoices",
             "/help/category/billing", "/contact")  # fmt: skip
    for audience in ("anonymous", "customer"):
        if audience == "customer":
            await customer_logged_in(client)
        for path in paths:
            await client.get(path)  # fills the cache
            before = sql_queries.count
            again = await client.get(path)
            assert again.status_code == 200, path
            assert sql_queries.count == before, (audience, path)
    assert "Invoices and receipts" in (await client.get("/help/search?q=invoice")).text


async def test_staff_edits_retire_cached_pages(app: Litestar, client: httpx.AsyncClient) -> None:
    billing = await category(slug="billing", name="Billing")
    row = await article(title="The old title", slug="guide", category=billing.id)
    for path in ("/help", "/help/guide", "/help/category/billing", "/help/search?q=old"):
        assert "The old title" in (await client.get(path)).text, path
    async with staff_session(app, "support") as staff:
        edited = await staff.patch(table("knowledge_base_article", row.id), json={"title": "The new title"})
        assert edited.status_code == 200, edited.text
        renamed = await staff.patch(table("help_category", billing.id), json={"name": "Money"})
        assert renamed.status_code == 200, renamed.text
        blank = (await staff.get(table("knowledge_base_article") + "new/")).json()
        values = {"title": "Fresh draft", "slug": "fresh", "body": "Soon.", "publish_state": "draft"}
        draft = await staff.post(table("knowledge_base_article"), json={**blank, **values})
        assert draft.status_code == 201, draft.text
    assert "The new title" in (await client.get("/help")).text
    assert "The new title" in (await client.get("/help/guide")).text
    assert "Money" in (await client.get("/help/category/billing")).text
    assert "The new title" in (await client.get("/help/search?q=new")).text
    assert "Fresh draft" not in (await client.get("/help")).text
    assert (await client.get("/help/fresh")).status_code == 404
    fresh = await KnowledgeBaseArticle.select(KnowledgeBaseArticle.id).where(KnowledgeBaseArticle.slug == "fresh")
    async with staff_session(app, "support", username="support-2") as staff:
        publish = {"publish_state": "published"}
        published = await staff.patch(table("knowledge_base_article", fresh[0]["id"]), json=publish)
        assert published.status_code == 200, published.text
        assert "Fresh draft" in (await client.get("/help")).text
        assert (await client.get("/help/fresh")).status_code == 200
        gone = await staff.delete(table("knowledge_base_article", row.id))
        assert gone.status_code == 204, gone.text
    assert (await client.get("/help/guide")).status_code == 404
    assert "The new title" not in (await client.get("/help")).text
    stamped = await KnowledgeBaseArticle.select(KnowledgeBaseArticle.published_at).where(
        KnowledgeBaseArticle.id == fresh[0]["id"]
    )
    assert stamped[0]["published_at"] is not None


def _jobs_ctx(app: Litestar) -> dict[str, Any]:
    return {"content": app.state.content, "settings": app.state.settings, "queue": app.state.queue}


async def test_a_scheduled_article_publishes_itself_at_publish_at(app: Litestar, client: httpx.AsyncClient) -> None:
    at = clock.now().replace(microsecond=0) + timedelta(hours=1)
    await article(title="Launch notes", slug="launch", publish_state="scheduled", publish_at=at)
    assert "Launch notes" not in (await client.get("/help")).text  # and that page is now cached
    assert (await client.get("/help/launch")).status_code == 404
    with clock.frozen_at(at - timedelta(seconds=1)):
        assert await publish_scheduled(_jobs_ctx(app)) == 0
    with clock.frozen_at(at):
        assert await publish_scheduled(_jobs_ctx(app)) == 1
        assert await publish_scheduled(_jobs_ctx(app)) == 0  # idempotent
    assert "Launch notes" in (await client.get("/help")).text
    assert (await client.get("/help/launch")).status_code == 200
    row = await KnowledgeBaseArticle.select(KnowledgeBaseArticle.publish_state, KnowledgeBaseArticle.published_at)
    assert row[0]["publish_state"] == "published" and clock.as_utc(row[0]["published_at"]) == at
