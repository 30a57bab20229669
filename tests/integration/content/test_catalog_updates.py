"""Catalog updates reach customers: cached pages (a hit runs no SQL) are retired by staff edits and by scheduled
publishing; changes are recorded for "new since your last visit" and for the weekly digest e-mail."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from litestar import Litestar

from app import clock
from app.content import service
from tables.content import ContentChange, ContentItem
from tasks.content import publish_scheduled, send_content_digests
from tests import factories
from tests.integration.content.helpers import QueryCounter, customer_logged_in, item, plan_with, runtime
from tests.integration.staff import staff_session, table
from tests.portal import submit
from tests.smtp import Mailbox


def _jobs_ctx(app: Litestar) -> dict[str, Any]:
    """What a job receives: the same runtime and queue the app's worker context carries."""
    return {"content": runtime(app), "settings": app.state.settings, "queue": app.state.queue}


async def test_a_cache_hit_runs_no_sql(app: Litestar, client: httpx.AsyncClient, sql_queries: QueryCounter) -> None:
    library = await factories.feature(key="library")
    customer_id = await customer_logged_in(client)
    await factories.subscription(customer=customer_id, plan=await plan_with(library.id))
    await item((library.id,), slug="deep-dive", title="Deep dive")
    for path in ("/catalog", "/catalog?q=deep", "/catalog/deep-dive"):
        await client.get(path)  # fills the caches
        before = sql_queries.count
        again = await client.get(path)
        assert again.status_code == 200 and "Deep dive" in again.text
        assert sql_queries.count == before, path


async def test_a_staff_edit_retires_cached_pages_and_records_the_change(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    row = await item(slug="guide", title="The old title", is_free=True)
    assert "The old title" in (await client.get("/catalog")).text
    assert "The old title" in (await client.get("/catalog/guide")).text
    async with staff_session(app, "content") as staff:
        edited = await staff.patch(table("content_item", row.id), json={"title": "The new title"})
        assert edited.status_code == 200, edited.text
        blank = (await staff.get(table("content_item") + "new/")).json()  # the defaults the admin form starts from
        values = {"title": "Fresh", "slug": "fresh", "kind": "article", "publish_state": "draft", "is_free": True}
        draft = await staff.post(table("content_item"), json={**blank, **values})
        assert draft.status_code == 201, draft.text
    assert "The new title" in (await client.get("/catalog")).text
    assert "The new title" in (await client.get("/catalog/guide")).text
    assert (
        "Fresh" not in (await client.get("/catalog")).text and (await client.get("/catalog/fresh")).status_code == 404
    )
    fresh = await ContentItem.select(ContentItem.id).where(ContentItem.slug == "fresh").first()
    assert fresh is not None
    async with staff_session(app, "content", username="content-2") as staff:
        published = await staff.patch(table("content_item", fresh["id"]), json={"publish_state": "published"})
        assert published.status_code == 200, published.text
        assert "Fresh" in (await client.get("/catalog")).text
        archived = await staff.patch(table("content_item", row.id), json={"publish_state": "archived"})
        assert archived.status_code == 200, archived.text
    assert (await client.get("/catalog/guide")).status_code == 404
    assert "The new title" not in (await client.get("/catalog")).text
    changes = await ContentChange.select(ContentChange.item, ContentChange.change).order_by(ContentChange.id)
    assert [(c["item"], c["change"]) for c in changes] == [
        (row.id, "updated"), (fresh["id"], "published"), (row.id, "archived")
    ]  # fmt: skip
    stamped = await ContentItem.select(ContentItem.published_at).where(ContentItem.id == fresh["id"]).first()
    assert stamped is not None and stamped["published_at"] is not None


async def test_scheduled_items_publish_themselves_at_publish_at(app: Litestar, client: httpx.AsyncClient) -> None:
    at = clock.now().replace(microsecond=0) + timedelta(hours=1)
    await item(slug="launch", title="Launch notes", publish_state="scheduled", publish_at=at, is_free=True)
    assert "Launch notes" not in (await client.get("/catalog")).text  # and that page is now cached
    with clock.frozen_at(at - timedelta(seconds=1)):
        assert await publish_scheduled(_jobs_ctx(app)) == 0
    with clock.frozen_at(at):
        assert await publish_scheduled(_jobs_ctx(app)) == 1
        assert await publish_scheduled(_jobs_ctx(app)) == 0  # idempotent
    assert "Launch notes" in (await client.get("/catalog")).text
    assert (await client.get("/catalog/launch")).status_code == 200
    row = await ContentItem.select(ContentItem.publish_state, ContentItem.published_at).first()
    assert row is not None and row["publish_state"] == "published" and clock.as_utc(row["published_at"]) == at
    assert await ContentChange.count().where(ContentChange.change == "published") == 1


async def test_new_since_the_last_visit_and_the_weekly_digest(
    app: Litestar, client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    await item(slug="older", title="Older piece", is_free=True)
    customer_id = await customer_logged_in(client)
    first = await client.get("/catalog/news")
    assert "Welcome to the library" in first.text
    opted = await submit(client, "/catalog", "/catalog/digest", {"enabled": "1"})
    assert opted.status_code == 303 and await service.digest_opted_in(customer_id)
    start = clock.now()
    publish_at = start + timedelta(minutes=30)
    await item(slug="newer", title="Newer piece", publish_state="scheduled", publish_at=publish_at, is_free=True)
    with clock.frozen_at(publish_at):
        await publish_scheduled(_jobs_ctx(app))
    with clock.frozen_at(start + timedelta(hours=2)):  # a new visit
        news = await client.get("/catalog/news")
        assert "Newer piece" in news.text and "Older piece" not in news.text
        assert await send_content_digests(_jobs_ctx(app)) == 1
        assert await send_content_digests(_jobs_ctx(app)) == 0  # one a week
    (mail,) = await mailbox.wait_for("content_digest")
    assert mail["To"] == "reader@example.com"
    assert "Newer piece" in Mailbox.text(mail) and "/catalog/newer" in Mailbox.text(mail)
    assert "Older piece" not in Mailbox.text(mail)
