"""An item's slug is its address, /catalog/<slug>: the catalog's own pages (/catalog/news, ...) keep theirs,
so the admin refuses those slugs, and anything that is not one path segment, with a message on the field."""

from __future__ import annotations

import httpx
import pytest
from litestar import Litestar

from app.content.service import RESERVED_SLUGS
from tables.audit import AuditLog
from tables.content import ContentItem
from tests.integration.content.helpers import item
from tests.integration.staff import staff_session, table


def test_every_fixed_catalog_page_is_a_reserved_slug(app: Litestar) -> None:
    fixed = {
        path.removeprefix("/catalog/")
        for route in app.routes
        if (path := route.path).startswith("/catalog/") and "{" not in path
    }
    assert fixed and fixed <= RESERVED_SLUGS


def field_errors(response: httpx.Response) -> list[str]:
    """What piccolo-admin's form shows for a 422: "<field> field - <message>" per entry."""
    assert response.status_code == 422, response.text
    return [f"{entry['loc'][-1]} field - {entry['msg']}" for entry in response.json()["detail"]]


@pytest.mark.parametrize("slug", ["news", "digest", "News"])
async def test_the_admin_refuses_a_slug_of_a_catalog_page(app: Litestar, client: httpx.AsyncClient, slug: str) -> None:
    existing = await item(slug="weekly", title="Weekly", is_free=True)
    async with staff_session(app, "content") as staff:
        blank = (await staff.get(table("content_item") + "new/")).json()
        values = {"title": "News of the week", "slug": slug, "kind": "article", "publish_state": "published"}
        created = await staff.post(table("content_item"), json={**blank, **values})
        renamed = await staff.patch(table("content_item", existing.id), json={"slug": slug})
    for refused in (created, renamed):
        (message,) = field_errors(refused)
        assert message.startswith(f"slug field - The slug '{slug}' is reserved: /catalog/{slug.lower()} is a page")
    assert await ContentItem.select(ContentItem.slug).order_by(ContentItem.id) == [{"slug": "weekly"}]
    audited = await AuditLog.count().where(AuditLog.target_type == "content_item")
    assert audited == 0  # refused before the audit hooks write
    assert (await client.get("/catalog/weekly")).status_code == 200


async def test_the_admin_refuses_a_slug_that_is_not_one_path_segment(app: Litestar) -> None:
    existing = await item(slug="weekly")
    async with staff_session(app, "content") as staff:
        for slug in ("news/today", "", "two words", "../admin"):
            (message,) = field_errors(await staff.patch(table("content_item", existing.id), json={"slug": slug}))
            assert "lowercase letters, digits, hyphens and underscores" in message, slug
        accepted = await staff.patch(table("content_item", existing.id), json={"slug": "news-of-the-week"})
        assert accepted.status_code == 200, accepted.text
