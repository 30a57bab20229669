"""The help centre: published articles by category, search, related articles, "Was this helpful?" votes, and
what support staff need to know about them (the worst-rated articles).

Only ``published`` articles exist for readers (drafts, scheduled and archived ones are ItemNotFound, a 404);
staff previews read any state. Writes that change what readers see (staff edits, scheduled publishing) return,
so the caller retires the help centre's cached pages after the commit. Votes change no page: their counts are
for staff only.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from markupsafe import Markup
from piccolo.query.mixins import OnConflictAction

from app import clock
from app.content import publishing
from app.content.search import as_datetime, search_terms
from app.errors import NotFound
from app.slugs import SlugRule
from app.support.help import search
from app.support.help.snippets import highlight
from tables.support import HelpCategory, HelpVote, KnowledgeBaseArticle
from tables.views import HelpArticleRating

PublishState = KnowledgeBaseArticle.PublishState
# Pages of their own under /help/ (app.support.help.portal): an article with one of these slugs could not be opened.
RESERVED_SLUGS = frozenset({"search", "category", "preview"})
ARTICLE_SLUGS = SlugRule("/help", "the help centre", RESERVED_SLUGS)
CATEGORY_SLUGS = SlugRule("/help/category", "the help centre")
SEARCH_LIMIT = 20
RELATED_LIMIT = 5
# Words too common to relate two articles (both engines: SQLite's FTS5 has no stop words of its own).
_COMMON = frozenset(
    {"a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from", "how", "i", "in", "is",
     "it", "my", "of", "on", "or", "the", "this", "to", "what", "when", "where", "which", "who", "why", "with",
     "you", "your"}
)  # fmt: skip
_VISITOR = re.compile(r"^(customer:\d{1,18}|anon:[A-Za-z0-9_-]{16,64})$")


class ArticleNotFound(NotFound):
    code = "help_article_not_found"


class CategoryNotFound(NotFound):
    code = "help_category_not_found"


@dataclass(frozen=True, slots=True)
class CategoryView:
    id: int
    slug: str
    name: str
    description: str


@dataclass(frozen=True, slots=True)
class ArticleCard:
    id: int
    slug: str
    title: str
    summary: str
    category: CategoryView | None


@dataclass(frozen=True, slots=True)
class Article:
    card: ArticleCard
    body: str
    publish_state: str
    publish_at: datetime | None
    updated_at: datetime | None

    @property
    def is_public(self) -> bool:
        return self.publish_state == PublishState.published


@dataclass(frozen=True, slots=True)
class Section:
    """A category on /help with its published articles (``category`` None: the articles without one)."""

    category: CategoryView | None
    articles: list[ArticleCard]


@dataclass(frozen=True, slots=True)
class SearchHit:
    card: ArticleCard
    snippet: Markup


@dataclass(frozen=True, slots=True)
class SearchResult:
    terms: list[str]
    hits: list[SearchHit]

    @property
    def query(self) -> str:
        """What was searched for, as the page shows it: the words only."""
        return " ".join(self.terms)


@dataclass(frozen=True, slots=True)
class Rating:
    article_id: int
    slug: str
    title: str
    publish_state: str
    helpful_yes: int
    helpful_no: int
    votes: int
    rating: int  # the helpful share in %, smoothed towards 50 (the admin's help_article_rating shows the same)


@dataclass(frozen=True, slots=True)
class Visitor:
    """Who votes: a logged-in customer, or an anonymous visitor known by a random cookie id."""

    key: str  # customer:<id> or anon:<id>
    customer_id: int | None = None

    @classmethod
    def customer(cls, customer_id: int) -> Visitor:
        return cls(f"customer:{customer_id}", customer_id)

    @classmethod
    def anonymous(cls, cookie_id: str) -> Visitor:
        visitor = cls(f"anon:{cookie_id}")
        if not _VISITOR.match(visitor.key):
            raise ValueError("not a visitor id")
        return visitor


# --- reading ------------------------------------------------------------------------------------------------


def _category(row: dict[str, Any], prefix: str = "category_") -> CategoryView | None:
    if row.get(f"{prefix}id") is None:
        return None
    return CategoryView(
        row[f"{prefix}id"], row[f"{prefix}slug"], row[f"{prefix}name"], row[f"{prefix}description"] or ""
    )


_CARD_COLUMNS = (
    KnowledgeBaseArticle.id,
    KnowledgeBaseArticle.slug,
    KnowledgeBaseArticle.title,
    KnowledgeBaseArticle.summary,
    KnowledgeBaseArticle.category.id.as_alias("category_id"),
    KnowledgeBaseArticle.category.slug.as_alias("category_slug"),
    KnowledgeBaseArticle.category.name.as_alias("category_name"),
    KnowledgeBaseArticle.category.description.as_alias("category_description"),
)


def _card(row: dict[str, Any]) -> ArticleCard:
    return ArticleCard(row["id"], row["slug"], row["title"], row["summary"] or "", _category(row))


async def _cards(ids: list[int]) -> list[ArticleCard]:
    """Cards of the published articles among ``ids``, in that order: one query."""
    if not ids:
        return []
    rows = await KnowledgeBaseArticle.select(*_CARD_COLUMNS).where(
        KnowledgeBaseArticle.id.is_in(ids), KnowledgeBaseArticle.publish_state == PublishState.published
    )
    by_id = {row["id"]: _card(row) for row in rows}
    return [by_id[i] for i in ids if i in by_id]


async def sections() -> list[Section]:
    """/help: every category in order with its published articles (by title), then those without a category.
    Categories without a published article are left out."""
    categories = await HelpCategory.select().order_by(HelpCategory.sort_order).order_by(HelpCategory.name)
    rows = (
        await KnowledgeBaseArticle.select(*_CARD_COLUMNS)
        .where(KnowledgeBaseArticle.publish_state == PublishState.published)
        .order_by(KnowledgeBaseArticle.title)
    )
    by_category: dict[int | None, list[ArticleCard]] = defaultdict(list)
    for row in rows:
        by_category[row["category_id"]].append(_card(row))
    found = [Section(_category(c, prefix=""), by_category[c["id"]]) for c in categories if by_category.get(c["id"])]
    if by_category.get(None):
        found.append(Section(None, by_category[None]))
    return found


async def category(slug: str) -> Section:
    """One category and its published articles; CategoryNotFound when there is none by that slug."""
    row = await HelpCategory.select().where(HelpCategory.slug == slug).first()
    if row is None:
        raise CategoryNotFound(f"There is no help category called {slug!r}.")
    articles = (
        await KnowledgeBaseArticle.select(*_CARD_COLUMNS)
        .where(KnowledgeBaseArticle.category == row["id"], KnowledgeBaseArticle.publish_state == PublishState.published)
        .order_by(KnowledgeBaseArticle.title)
    )
    return Section(_category(row, prefix=""), [_card(a) for a in articles])


async def _article(slug: str, *, public: bool) -> Article:
    query = KnowledgeBaseArticle.select(
        *_CARD_COLUMNS,
        KnowledgeBaseArticle.body,
        KnowledgeBaseArticle.publish_state,
        KnowledgeBaseArticle.publish_at,
        KnowledgeBaseArticle.updated_at,
    ).where(KnowledgeBaseArticle.slug == slug)
    if public:
        query = query.where(KnowledgeBaseArticle.publish_state == PublishState.published)
    row = await query.first()
    if row is None:
        raise ArticleNotFound(f"There is no help article called {slug!r}.")
    return Article(
        card=_card(row),
        body=row["body"],
        publish_state=row["publish_state"],
        publish_at=as_datetime(row["publish_at"]),
        updated_at=as_datetime(row["updated_at"]),
    )


async def published_slug(article_id: int) -> str | None:
    """The slug of a published article (None for any other), for callers that know articles by id."""
    row = (
        await KnowledgeBaseArticle.select(KnowledgeBaseArticle.slug)
        .where(KnowledgeBaseArticle.id == article_id, KnowledgeBaseArticle.publish_state == PublishState.published)
        .first()
    )
    return str(row["slug"]) if row else None


async def article(slug: str) -> Article:
    """A published article; ArticleNotFound for any other (a draft, a scheduled or archived one, none)."""
    return await _article(slug, public=True)


async def article_for_preview(slug: str) -> Article:
    """An article in whatever state, for staff to see it as readers will (the caller checks who asks)."""
    return await _article(slug, public=False)


def relating_terms(title: str) -> list[str]:
    """The words of a title that can relate it to other articles."""
    return [t for t in search_terms(title) if len(t) > 2 and t not in _COMMON]


async def related(article: Article, limit: int = RELATED_LIMIT) -> list[ArticleCard]:
    """Published articles sharing words of this one's title, or its category (both first)."""
    category_id = article.card.category.id if article.card.category else None
    ids = await search.related(article.card.id, category_id, relating_terms(article.card.title), limit)
    return await _cards(ids)


def parse_query(q: str) -> list[str]:
    return search_terms(q.strip()[:200])


async def find(terms: list[str], limit: int = SEARCH_LIMIT, *, any_term: bool = False) -> SearchResult:
    """Published articles with every word of ``terms`` (word prefixes; ``any_term``: any of them, articles with
    more first), best first, each with a highlighted snippet of its body."""
    hits = await search.search(terms, limit, any_term=any_term)
    cards = {card.id: card for card in await _cards([hit.id for hit in hits])}
    return SearchResult(terms, [SearchHit(cards[h.id], highlight(h.snippet)) for h in hits if h.id in cards])


# --- votes ----------------------------------------------------------------------------------------------------


async def vote(slug: str, visitor: Visitor, helpful: bool) -> bool:
    """Record ``visitor``'s answer on a published article: one vote per visitor and article, a new answer
    replaces the old (the unique index makes two racing first votes one row). Returns the answer kept."""
    found = await article(slug)
    now = clock.now()
    await HelpVote.insert(
        HelpVote(
            article=found.card.id,
            visitor=visitor.key,
            customer=visitor.customer_id,
            helpful=helpful,
            created_at=now,
            updated_at=now,
        )
    ).on_conflict(
        target=(HelpVote.article, HelpVote.visitor),
        action=OnConflictAction.do_update,
        values=[HelpVote.helpful, HelpVote.updated_at],
    )
    return helpful


async def votes_of(article_id: int) -> tuple[int, int]:
    """(helpful, not helpful) for one article, counted from the votes."""
    row = (
        await HelpArticleRating.select(HelpArticleRating.helpful_yes, HelpArticleRating.helpful_no)
        .where(HelpArticleRating.id == article_id)
        .first()
    )
    return (int(row["helpful_yes"] or 0), int(row["helpful_no"] or 0)) if row else (0, 0)


async def worst_rated(n: int = 10) -> list[Rating]:
    """The ``n`` articles readers found least helpful (any state; only articles with votes): lowest smoothed
    rating first, then the most "no" answers. For support staff (the admin's Help article ratings, the console)."""
    rows = (
        await HelpArticleRating.select(
            HelpArticleRating.id,
            HelpArticleRating.article.slug.as_alias("slug"),
            HelpArticleRating.article.title.as_alias("title"),
            HelpArticleRating.article.publish_state.as_alias("publish_state"),
            HelpArticleRating.helpful_yes,
            HelpArticleRating.helpful_no,
            HelpArticleRating.votes,
            HelpArticleRating.rating,
        )
        .where(HelpArticleRating.votes > 0)
        .order_by(HelpArticleRating.rating)
        .order_by(HelpArticleRating.helpful_no, ascending=False)
        .order_by(HelpArticleRating.id)
        .limit(max(0, n))
    )
    return [
        Rating(
            article_id=r["id"], slug=r["slug"], title=r["title"], publish_state=r["publish_state"],
            helpful_yes=int(r["helpful_yes"]), helpful_no=int(r["helpful_no"]), votes=int(r["votes"]),
            rating=int(r["rating"]),
        )
        for r in rows
    ]  # fmt: skip


# --- publishing ---------------------------------------------------------------------------------------------


async def after_staff_edit(article_id: int) -> None:
    """A staff member created or changed an article: stamp it and date a first publication."""
    await publishing.stamp_edit(KnowledgeBaseArticle, article_id, clock.now())


async def publish_due(at: datetime | None = None) -> list[int]:
    """Publish every scheduled article whose ``publish_at`` has come. Idempotent."""
    published = await publishing.publish_due(KnowledgeBaseArticle, at or clock.now())
    return [row["id"] for row in published]
