"""Help articles as the ticket form suggests them: the help centre's own search and pages
(``app.support.help.service``), asked with the words of a ticket's subject."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from app.content.markdown import render_markdown
from app.support.help import service as help_centre

MAX_WORDS = 6


@dataclass(frozen=True, slots=True)
class ArticleHit:
    id: int
    slug: str
    title: str
    category: str
    snippet: Markup  # escaped, matched words in <mark>


@dataclass(frozen=True, slots=True)
class ArticleView:
    id: int
    slug: str
    title: str
    category: str
    body_html: Markup  # rendered by markdown-it with raw HTML off: safe to embed


async def help_search(q: str, limit: int = 5) -> list[ArticleHit]:
    """Published articles sharing a word of ``q`` (as typed so far: word prefixes; common words like "how" left
    out), those sharing more first. A subject rarely holds every word of an article, so any word counts."""
    terms = help_centre.relating_terms(q)[:MAX_WORDS]
    if not terms or limit < 1:
        return []
    found = await help_centre.find(terms, limit, any_term=True)
    return [
        ArticleHit(h.card.id, h.card.slug, h.card.title, h.card.category.name if h.card.category else "", h.snippet)
        for h in found.hits
    ]


async def published_article(article_id: int) -> ArticleView | None:
    """A published article by id, as the ticket form opens it in place; None for any other."""
    slug = await help_centre.published_slug(article_id)
    if slug is None:
        return None
    article = await help_centre.article(slug)
    card = article.card
    return ArticleView(card.id, card.slug, card.title, card.category.name if card.category else "",
                       render_markdown(article.body))  # fmt: skip
