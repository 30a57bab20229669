"""tables.fulltext writes the search DDL of applied migrations (content items, help articles): its SQL must never
change for them, or a database migrated before and one migrated after would differ. The digests are those of
the statements as applied (content_item's equal the literal statements its migration held before it used this)."""

from __future__ import annotations

import hashlib

import pytest

from tables import fulltext

COLUMNS = ["title", "summary", "body"]
APPLIED = {
    "content_item": "916b7557736d13556711dc42fd89bb09dd9f1f26aca50ad9385893cd1b5d99c2",
    "knowledge_base_article": "e14b86fb0a966ac854c471ed7722c76c6d87a60ebcaea0c723a40fd6a91700e0",
}


@pytest.mark.parametrize("table", sorted(APPLIED))
def test_the_applied_search_ddl_is_unchanged(table: str) -> None:
    statements = [
        *fulltext.postgres_forwards(table, COLUMNS),
        *fulltext.postgres_backwards(table),
        *fulltext.sqlite_forwards(table, COLUMNS),
        *fulltext.sqlite_backwards(table),
    ]
    assert hashlib.sha256("\n".join(statements).encode()).hexdigest() == APPLIED[table]


def test_columns_are_weighted_in_order() -> None:
    (column, _) = fulltext.postgres_forwards("t", ["a", "b"])
    assert "coalesce(a, '')), 'A') || setweight(to_tsvector('english', coalesce(b, '')), 'B')" in column
