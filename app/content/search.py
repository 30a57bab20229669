"""The catalog query: published items, filtered by product, kind and tag, optionally matched by full-text search
and ranked (PostgreSQL ``tsvector`` + ``ts_rank``; SQLite FTS5 + ``bm25``; see ``tables.fulltext``).

Search terms are reduced to words and matched as prefixes ("pric" finds "pricing"), all words required, on
both engines; nothing the user types reaches the query syntax of either engine. The help centre's search
(app.support.help.search) builds its queries with the same functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app import clock
from app.db import is_postgres
from tables.content import ContentItem

MAX_TERMS = 8
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class CatalogFilter:
    q: str = ""
    product: str = ""
    kind: str = ""
    tag: str = ""

    def terms(self) -> list[str]:
        return search_terms(self.q)


@dataclass(frozen=True, slots=True)
class Match:
    id: int
    rank: float


def search_terms(q: str) -> list[str]:
    """The words of ``q``, lowercased, at most MAX_TERMS: the only part of what was typed that reaches a query."""
    return [w.lower() for w in _WORD.findall(q)][:MAX_TERMS]


def all_prefixes_query(terms: list[str]) -> str:
    """A full-text query (to_tsquery's or FTS5's syntax) matching documents with every term as a word prefix."""
    if is_postgres():
        return " & ".join(f"{t}:*" for t in terms)
    return " ".join(f'"{t}"*' for t in terms)


def any_prefix_query(terms: list[str]) -> str:
    """A full-text query matching documents with any of the terms as a word prefix (ranked: more terms, higher)."""
    if is_postgres():
        return " | ".join(f"{t}:*" for t in terms)
    return " OR ".join(f'"{t}"*' for t in terms)


def any_word_query(terms: list[str]) -> str:
    """A full-text query matching documents with any of the terms (whole words)."""
    if is_postgres():
        return " | ".join(terms)
    return " OR ".join(f'"{t}"' for t in terms)


def _parts(flt: CatalogFilter) -> tuple[str, str, str, list[Any], list[Any]]:
    """FROM, WHERE and rank expressions with their arguments (rank arguments come first in the SELECT)."""
    where = ["ci.publish_state = {}"]
    args: list[Any] = [ContentItem.PublishState.published.value]
    rank_args: list[Any] = []
    terms = flt.terms()
    if terms and is_postgres():
        source = "content_item ci LEFT JOIN product p ON p.id = ci.product"
        rank = "ts_rank(ci.search_vector, to_tsquery('english', {}))"
        rank_args.append(all_prefixes_query(terms))
        where.append("ci.search_vector @@ to_tsquery('english', {})")
        args.append(all_prefixes_query(terms))
    elif terms:
        source = (
            "content_item_fts JOIN content_item ci ON ci.id = content_item_fts.rowid "
            "LEFT JOIN product p ON p.id = ci.product"
        )
        rank = "-bm25(content_item_fts, 10.0, 4.0, 1.0)"
        where.append("content_item_fts MATCH {}")
        args.append(all_prefixes_query(terms))
    else:
        source = "content_item ci LEFT JOIN product p ON p.id = ci.product"
        rank = "0.0"
    if flt.product:
        where.append("p.slug = {}")
        args.append(flt.product)
    if flt.kind:
        where.append("ci.kind = {}")
        args.append(flt.kind)
    if flt.tag:
        where.append(
            "EXISTS (SELECT 1 FROM content_item_tag cit JOIN tag t ON t.id = cit.tag "
            "WHERE cit.item = ci.id AND t.slug = {})"
        )
        args.append(flt.tag)
    return source, " AND ".join(where), rank, args, rank_args


async def find(flt: CatalogFilter, *, offset: int, limit: int) -> tuple[list[Match], int]:
    """One page of matching item ids, best first (newest first without search terms), and the total count."""
    source, where, rank, args, rank_args = _parts(flt)
    order = "rank DESC, ci.updated_at DESC, ci.id DESC" if flt.terms() else "ci.updated_at DESC, ci.id DESC"
    rows = await ContentItem.raw(
        f"SELECT ci.id AS id, {rank} AS rank FROM {source} WHERE {where} ORDER BY {order} LIMIT {{}} OFFSET {{}}",  # noqa: S608 - fixed fragments; values are arguments
        *rank_args,
        *args,
        limit,
        offset,
    )
    count = await ContentItem.raw(f"SELECT COUNT(*) AS n FROM {source} WHERE {where}", *args)  # noqa: S608
    return [Match(int(r["id"]), float(r["rank"] or 0.0)) for r in rows], int(count[0]["n"])


def as_datetime(value: Any) -> datetime | None:
    """Timestamps from raw SQL: aware datetimes on PostgreSQL, strings or naive values on SQLite."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return clock.as_utc(value)
