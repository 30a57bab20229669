"""Help centre test helpers: categories and articles (published unless told otherwise)."""

from __future__ import annotations

import itertools
import re
from typing import Any

import httpx

from tables.support import HelpCategory, KnowledgeBaseArticle

_seq = itertools.count(1)
Published = KnowledgeBaseArticle.PublishState.published
SLUGS = re.compile(r'data-slug="([^"]+)"')


async def category(**overrides: Any) -> HelpCategory:
    n = next(_seq)
    row = HelpCategory(**{"name": f"Category {n}", "slug": f"category-{n}", **overrides})
    await row.save()
    return row


async def article(**overrides: Any) -> KnowledgeBaseArticle:
    n = next(_seq)
    values: dict[str, Any] = {"title": f"Article {n}", "slug": f"article-{n}", "body": f"Body {n}.",
                              "publish_state": Published}  # fmt: skip
    row = KnowledgeBaseArticle(**{**values, **overrides})
    await row.save()
    return row


def listed(page: httpx.Response) -> list[str]:
    """The article slugs a search or category page lists, in order."""
    assert page.status_code == 200, page.text
    return SLUGS.findall(page.text)
