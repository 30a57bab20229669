"""Support staff edit help articles and categories in the admin: a slug is an address (/help/<slug>,
/help/category/<slug>), so the help centre's own pages keep theirs and anything but one path segment is refused
with a message on the field; other roles cannot touch the help centre."""

from __future__ import annotations

import httpx
import pytest
from litestar import Litestar

from app.support.help.service import RESERVED_SLUGS
from tables.audit import AuditLog
from tables.support import HelpCategory, KnowledgeBaseArticle
from tests.integration.content.test_slugs import field_errors
from tests.integration.help.helpers import article, category
from tests.integration.staff import staff_session, table


def test_every_fixed_help_page_is_a_reserved_slug(app: Litestar) -> None:
    fixed = {
        path.removeprefix("/help/").split("/")[0] for route in app.routes if (path := route.path).startswith("/help/")
    }
    fixed.discard("{slug:str}")
    assert fixed and fixed <= RESERVED_SLUGS


@pytest.mark.parametrize("slug", ["search", "preview", "Category"])
async def test_the_admin_refuses_a_slug_of_a_help_page(app: Litestar, client: httpx.AsyncClient, slug: str) -> None:
    existing = await article(slug="invoices", title="Invoices")
    async with staff_session(app, "support") as staff:
        blank = (await staff.get(table("knowledge_base_article") + "new/")).json()
        values = {"title": "Searching", "slug": slug, "body": "x", "publish_state": "published"}
        created = await staff.post(table("knowledge_base_article"), json={**blank, **values})
        renamed = await staff.patch(table("knowledge_base_article", existing.id), json={"slug": slug})
    for refused in (created, renamed):
        (message,) = field_errors(refused)
        assert message.startswith(f"slug field - The slug '{slug}' is reserved: /help/{slug.lower()} is a page")
    assert await KnowledgeBaseArticle.select(KnowledgeBaseArticle.slug) == [{"slug": "invoices"}]
    assert await AuditLog.count().where(AuditLog.target_type == "knowledge_base_article") == 0
    assert (await client.get("/help/invoices")).status_code == 200


async def test_the_admin_refuses_slugs_that_are_not_one_path_segment(app: Litestar) -> None:
    existing = await article(slug="invoices")
    billing = await category(slug="billing")
    async with staff_session(app, "support") as staff:
        for name, row_id in (("knowledge_base_article", existing.id), ("help_category", billing.id)):
            for slug in ("a/b", "", "two words", "../admin"):
                (message,) = field_errors(await staff.patch(table(name, row_id), json={"slug": slug}))
                assert "lowercase letters, digits, hyphens and underscores" in message, (name, slug)
        accepted = await staff.patch(table("help_category", billing.id), json={"slug": "money"})
        assert accepted.status_code == 200, accepted.text
    assert await HelpCategory.select(HelpCategory.slug) == [{"slug": "money"}]


async def test_only_support_staff_and_superusers_write_the_help_centre(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    row = await article(slug="invoices")
    async with staff_session(app, "content") as content:
        assert (await content.patch(table("knowledge_base_article", row.id), json={"title": "X"})).status_code == 403
        assert (await content.get(table("help_category"))).status_code == 403
    async with staff_session(app, "superuser") as root:
        assert (await root.patch(table("knowledge_base_article", row.id), json={"title": "Y"})).status_code == 200
    assert "<h1>Y</h1>" in (await client.get("/help/invoices")).text
