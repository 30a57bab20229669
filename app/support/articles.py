"""Help articles as the ticket form suggests them.

``help_search`` is a deliberately small stand-in: published articles whose title or body contains the words
typed (LIKE/ILIKE), titles first. The help centre's full-text search replaces it at merge; the ticket form
only relies on the signature ``help_search(q, limit) -> list[ArticleHit]``.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import reduce

from markdown_it import MarkdownIt
from piccolo.columns.combination import Or, Where

from app.db import is_postgres
from tables.support import KnowledgeBaseArticle as Article

MIN_WORD = 3
MAX_WORDS = 6
SNIPPET_CHARS = 160
_WORD = re.compile(r"[^\W_]+")  # letters and digits: nothing LIKE would read as a wildcard
_markdown = MarkdownIt("commonmark", {"html": False})
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True, slots=True)
class ArticleHit:
    id: int
    slug: str
    title: str
    category: str
    snippet: str


@dataclass(frozen=True, slots=True)
class ArticleView:
    id: int
    slug: str
    title: str
    category: str
    body_html: str  # rendered by markdown-it with raw HTML off: safe to embed


def _words(q: str) -> list[str]:
    words = [w.lower() for w in _WORD.findall(q) if len(w) >= MIN_WORD]
    return list(dict.fromkeys(words))[:MAX_WORDS]


def _snippet(body: str) -> str:
    """The article's opening words as plain text (its Markdown rendered, then the tags dropped)."""
    text = " ".join(html.unescape(_TAG.sub("", _markdown.render(body))).split())
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1].rsplit(" ", 1)[0] + "…"


async def help_search(q: str, limit: int = 5) -> list[ArticleHit]:
    """Published articles matching the words of ``q`` (3+ letters), most words in the title first."""
    words = _words(q)
    if not words or limit < 1:
        return []
    matches: list[Where | Or] = []
    for word in words:
        pattern = f"%{word}%"
        for column in (Article.title, Article.body):
            # SQLite's LIKE ignores the case of ASCII letters already (and has no ILIKE).
            matches.append(column.ilike(pattern) if is_postgres() else column.like(pattern))
    rows = await (
        Article.select(Article.id, Article.slug, Article.title, Article.category, Article.body)
        .where(Article.published.eq(True), reduce(Or, matches))
        .limit(50)
    )

    def score(row: dict[str, str]) -> tuple[int, int]:
        title, body = row["title"].lower(), row["body"].lower()
        return (-sum(w in title for w in words), -sum(w in body for w in words))

    ranked = sorted(rows, key=score)[:limit]
    return [ArticleHit(r["id"], r["slug"], r["title"], r["category"], _snippet(r["body"])) for r in ranked]


async def published_article(article_id: int) -> ArticleView | None:
    row = await Article.select().where(Article.id == article_id, Article.published.eq(True)).first()
    if row is None:
        return None
    return ArticleView(row["id"], row["slug"], row["title"], row["category"], _markdown.render(row["body"]))
