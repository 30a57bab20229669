"""Catalog search, filters and pagination on PostgreSQL (tsvector + ts_rank) and on SQLite (FTS5 + bm25)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from app.content import service
from tables.content import ContentItem, ContentItemTag, Tag
from tests import factories
from tests.integration.content.helpers import item
from tests.sqlite import run_on_sqlite

SLUGS = re.compile(r'data-slug="([^"]+)"')


async def _catalog() -> None:
    """A small catalog: ranking, prefixes, filters and an unpublished item that must never be found."""
    video_product = await factories.product(slug="courses", name="Courses")
    await item(slug="pricing-title", title="Pricing pages that convert", summary="Anchoring.", body="A talk.")
    await item(slug="pricing-body", title="Weekly notes", summary="Odds and ends.", body="Some words on pricing.")
    await item(slug="churn", title="Churn playbook", summary="Win-back.", body="Dunning and retention.")
    await item(slug="video-pricing", title="Pricing workshop", kind="video", product=video_product.id)
    await item(slug="draft-pricing", title="Pricing draft", publish_state="draft")
    tag = await Tag.objects().create(name="Growth", slug="growth")
    for slug in ("pricing-body", "churn"):
        row = await ContentItem.select(ContentItem.id).where(ContentItem.slug == slug).first()
        assert row is not None
        await ContentItemTag.insert(ContentItemTag(item=row["id"], tag=tag.id))


async def test_search_ranks_title_matches_first_and_finds_prefixes(client: httpx.AsyncClient) -> None:
    await _catalog()
    page = await service.list_catalog(service.parse_filter(q="pricing"), 1, 20)
    slugs = [card.slug for card in page.items]
    assert set(slugs) == {"pricing-title", "pricing-body", "video-pricing"}  # never the draft
    assert slugs[-1] == "pricing-body"  # a body match ranks below title matches
    prefix = await service.list_catalog(service.parse_filter(q="pric"), 1, 20)
    assert {card.slug for card in prefix.items} == set(slugs)
    both = await service.list_catalog(service.parse_filter(q="pricing workshop"), 1, 20)
    assert [card.slug for card in both.items] == ["video-pricing"]
    nothing = await service.list_catalog(service.parse_filter(q='") OR 1=1 --'), 1, 20)
    assert nothing.total == 0  # operators are not syntax: "or" and "1" are words that match nothing


async def test_filters_and_pagination_through_the_portal(client: httpx.AsyncClient) -> None:
    await _catalog()
    by_kind = await client.get("/catalog", params={"q": "pricing", "kind": "video"})
    assert SLUGS.findall(by_kind.text) == ["video-pricing"]
    by_product = await client.get("/catalog", params={"product": "courses"})
    assert SLUGS.findall(by_product.text) == ["video-pricing"]
    by_tag = await client.get("/catalog", params={"tag": "growth"})
    assert sorted(SLUGS.findall(by_tag.text)) == ["churn", "pricing-body"]
    page_one = await service.list_catalog(service.parse_filter(), 1, 3)
    page_two = await service.list_catalog(service.parse_filter(), 2, 3)
    assert (page_one.total, page_one.pages, len(page_one.items), len(page_two.items)) == (4, 2, 3, 1)
    assert not {c.slug for c in page_one.items} & {c.slug for c in page_two.items}


async def test_editing_an_item_updates_search_in_the_same_write(client: httpx.AsyncClient) -> None:
    row = await item(slug="renamed", title="Old name")
    assert (await service.list_catalog(service.parse_filter(q="onboarding"), 1, 20)).total == 0
    await ContentItem.update({ContentItem.title: "Onboarding checklist"}).where(ContentItem.id == row.id)
    found = await service.list_catalog(service.parse_filter(q="onboarding"), 1, 20)
    assert [c.slug for c in found.items] == ["renamed"]


SQLITE_SCRIPT = """
import asyncio, contextlib, io, json

async def main():
    from app.db import migrate
    with contextlib.redirect_stdout(io.StringIO()):
        await migrate()
    from app.content import service
    from tables.content import ContentItem
    from tests import factories

    published = ContentItem.PublishState.published
    for slug, title, body in [("pricing-title", "Pricing pages that convert", "A talk."),
                              ("pricing-body", "Weekly notes", "Some words on pricing."),
                              ("churn", "Churn playbook", "Dunning."),
                              ("old", "Pricing draft", "")]:
        await factories.content_item(slug=slug, title=title, body=body,
                                     publish_state=published if slug != "old" else "draft")
    result = {}
    for q in ("pricing", "pric", "pricing notes", '") OR 1=1 --', ""):
        page = await service.list_catalog(service.parse_filter(q=q), 1, 20)
        result[q] = [c.slug for c in page.items]
    await ContentItem.update({ContentItem.title: "Onboarding checklist"}).where(ContentItem.slug == "churn")
    found = await service.list_catalog(service.parse_filter(q="onboard"), 1, 20)
    result["after edit"] = [c.slug for c in found.items]
    await ContentItem.delete().where(ContentItem.slug == "pricing-title")
    found = await service.list_catalog(service.parse_filter(q="pricing"), 1, 20)
    result["after delete"] = [c.slug for c in found.items]
    print(json.dumps(result))

asyncio.run(main())
"""


def test_search_on_sqlite_with_fts5(tmp_path: Path) -> None:
    result = run_on_sqlite(SQLITE_SCRIPT, tmp_path)
    assert result["pricing"] == ["pricing-title", "pricing-body"]  # title match first, never the draft
    assert result["pric"] == ["pricing-title", "pricing-body"]
    assert result["pricing notes"] == ["pricing-body"]
    assert result['") OR 1=1 --'] == []
    assert sorted(result[""]) == ["churn", "pricing-body", "pricing-title"]
    assert result["after edit"] == ["churn"]  # triggers kept the index in step with the table
    assert result["after delete"] == ["pricing-body"]
