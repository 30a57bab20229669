"""The help centre's full-text queries: search with highlighted snippets, and related articles.

PostgreSQL: the articles' generated ``search_vector`` (GIN), ``ts_rank`` and ``ts_headline``; SQLite: the FTS5
table ``knowledge_base_article_fts``, ``bm25`` and ``snippet()`` (both from ``tables.fulltext``). The queries are
built from words only (app.content.search): nothing a visitor types reaches either engine's query syntax.
Snippets come back as plain text with HIT_START / HIT_END around the matched words; app.support.help.snippets
turns them into escaped HTML.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.content.search import all_prefixes_query, any_prefix_query, any_word_query
from app.db import is_postgres
from tables.support import KnowledgeBaseArticle

# Private-use characters: they mark matched words in a snippet and mean nothing in any text staff write.
HIT_START, HIT_END = "\ue000", "\ue001"
_PUBLISHED = KnowledgeBaseArticle.PublishState.published.value
_HEADLINE = (
    f'StartSel={HIT_START}, StopSel={HIT_END}, MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter=" … "'
)
# FTS5: the body column (title 0, summary 1, body 2), about as many words as ts_headline gives.
_FTS_SNIPPET = "snippet(knowledge_base_article_fts, 2, {}, {}, '…', 24)"
_FTS_RANK = "-bm25(knowledge_base_article_fts, 10.0, 4.0, 1.0)"  # title > summary > body, as ts_rank's weights


@dataclass(frozen=True, slots=True)
class Hit:
    id: int
    rank: float
    snippet: str  # plain text with HIT_START/HIT_END marks


def _matches(query: str) -> tuple[str, list[Any]]:
    """A subquery of (id, rank) for every article matching ``query``, with its arguments."""
    if is_postgres():
        return (
            "SELECT id, ts_rank(search_vector, to_tsquery('english', {})) AS rank FROM knowledge_base_article "
            "WHERE search_vector @@ to_tsquery('english', {})",
            [query, query],
        )
    return (
        f"SELECT rowid AS id, {_FTS_RANK} AS rank FROM knowledge_base_article_fts "  # noqa: S608 - fixed fragments
        "WHERE knowledge_base_article_fts MATCH {}",
        [query],
    )


async def search(terms: list[str], limit: int, *, any_term: bool = False) -> list[Hit]:
    """Published articles with every term (as word prefixes; ``any_term``: with any of them, those with more
    first), best first, each with a snippet of its body."""
    if not terms:
        return []
    query = any_prefix_query(terms) if any_term else all_prefixes_query(terms)
    if is_postgres():
        # Rank and pick first, then headline only the articles shown (ts_headline reads the whole body).
        matches, args = _matches(query)
        rows = await KnowledgeBaseArticle.raw(
            "SELECT m.id AS id, m.rank AS rank, ts_headline('english', a.body, to_tsquery('english', {}), {}) "  # noqa: S608 - fixed fragments
            f"AS snippet FROM ({matches}) m JOIN knowledge_base_article a ON a.id = m.id "
            "WHERE a.publish_state = {} ORDER BY m.rank DESC, m.id LIMIT {}",
            query, _HEADLINE, *args, _PUBLISHED, limit,
        )  # fmt: skip
    else:
        # snippet() needs the FTS table's own MATCH in the same SELECT.
        rows = await KnowledgeBaseArticle.raw(
            f"SELECT a.id AS id, {_FTS_RANK} AS rank, {_FTS_SNIPPET} AS snippet "  # noqa: S608 - fixed fragments
            "FROM knowledge_base_article_fts JOIN knowledge_base_article a ON a.id = knowledge_base_article_fts.rowid "
            "WHERE knowledge_base_article_fts MATCH {} AND a.publish_state = {} ORDER BY rank DESC, a.id LIMIT {}",
            HIT_START, HIT_END, query, _PUBLISHED, limit,
        )  # fmt: skip
    return [Hit(int(r["id"]), float(r["rank"] or 0.0), str(r["snippet"] or "")) for r in rows]


async def related(article_id: int, category_id: int | None, terms: list[str], limit: int) -> list[int]:
    """Other published articles sharing a word of ``terms`` or the category: both first, then a shared word
    (best match first), then the category alone."""
    where = ["a.publish_state = {}", "a.id <> {}"]
    args: list[Any] = [_PUBLISHED, article_id]
    same = "CASE WHEN a.category = {} THEN 1 ELSE 0 END" if category_id is not None else "0"
    same_args: list[Any] = [category_id] if category_id is not None else []
    if terms:
        matches, match_args = _matches(any_word_query(terms))
        source = f"knowledge_base_article a LEFT JOIN ({matches}) m ON m.id = a.id"
        score = f"({same}) + CASE WHEN m.id IS NULL THEN 0 ELSE 2 END"
        rank = "COALESCE(m.rank, 0)"
        linked = "m.id IS NOT NULL" + (" OR a.category = {}" if category_id is not None else "")
    else:
        match_args, source, score, rank = [], "knowledge_base_article a", same, "0"
        linked = "a.category = {}" if category_id is not None else "1 = 0"
    where.append(f"({linked})")
    args += same_args  # the category in ``linked``
    rows = await KnowledgeBaseArticle.raw(
        f"SELECT a.id AS id, {score} AS score, {rank} AS rank FROM {source} "  # noqa: S608 - fixed fragments
        f"WHERE {' AND '.join(where)} ORDER BY score DESC, rank DESC, a.id LIMIT {{}}",
        *same_args, *match_args, *args, limit,
    )  # fmt: skip
    return [int(r["id"]) for r in rows]
