"""Help articles written before the help centre keep what they had: their category text becomes a category,
published ones stay published (dated), unpublished ones become drafts; search and the ratings view cover them."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import asyncpg

from tests.conftest import _admin, database_url
from tests.integration.test_migrations import piccolo

FIRST_HELP_MIGRATION = "2026-12-01T14:58:33:435912"
OLD_ROWS = [  # title, slug, category, body, published
    ("Invoices", "invoices", "Billing", "Download them.", 1),
    ("Security", "security", "Account & security", "Turn on two factors.", 0),
    ("Refunds", "refunds", "Billing", "Ask us.", 1),
]


def test_old_articles_move_into_categories_and_states(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    url = f"sqlite:///{path}"
    piccolo(url, "forwards", "all")
    piccolo(url, "backwards", "recurra", f"--migration_id={FIRST_HELP_MIGRATION}", "--auto_agree")
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT INTO knowledge_base_article (title, slug, category, body, published, helpful_yes, helpful_no, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, 0, 0, '2026-01-02 03:04:05', '2026-01-02 03:04:05')",
            OLD_ROWS,
        )
    piccolo(url, "forwards", "all")
    with sqlite3.connect(path) as db:
        categories = db.execute("SELECT id, name, slug FROM help_category ORDER BY sort_order").fetchall()
        articles = db.execute(
            "SELECT a.slug, c.slug, a.publish_state, a.published_at FROM knowledge_base_article a "
            "JOIN help_category c ON c.id = a.category ORDER BY a.id"
        ).fetchall()
        found = db.execute(
            "SELECT rowid FROM knowledge_base_article_fts WHERE knowledge_base_article_fts MATCH 'factors'"
        ).fetchall()
        ratings = db.execute("SELECT article, votes, rating FROM help_article_rating ORDER BY article").fetchall()
    assert [(name, slug) for _, name, slug in categories] == [("Account & security", "account-security"),
                                                              ("Billing", "billing")]  # fmt: skip
    assert articles == [
        ("invoices", "billing", "published", "2026-01-02 03:04:05"),
        ("security", "account-security", "draft", None),
        ("refunds", "billing", "published", "2026-01-02 03:04:05"),
    ]
    assert found == [(2,)]
    assert ratings == [(1, 0, 50), (2, 0, 50), (3, 0, 50)]


async def test_old_articles_move_on_postgresql_too() -> None:
    name = f"recurra_help_migration_{uuid.uuid4().hex[:8]}"
    url = database_url(name)
    await _admin(f'CREATE DATABASE "{name}"')
    try:
        piccolo(url, "forwards", "all")
        piccolo(url, "backwards", "recurra", f"--migration_id={FIRST_HELP_MIGRATION}", "--auto_agree")
        db = await asyncpg.connect(url)
        try:
            await db.executemany(
                "INSERT INTO knowledge_base_article (title, slug, category, body, published, helpful_yes, helpful_no, "
                "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 0, 0, '2026-01-02 03:04:05Z', now())",
                [(*row[:4], bool(row[4])) for row in OLD_ROWS],
            )
        finally:
            await db.close()
        piccolo(url, "forwards", "all")
        db = await asyncpg.connect(url)
        try:
            rows = await db.fetch(
                "SELECT a.slug, c.slug AS category, a.publish_state, a.published_at IS NOT NULL AS dated "
                "FROM knowledge_base_article a JOIN help_category c ON c.id = a.category ORDER BY a.id"
            )
            found = await db.fetch(
                "SELECT slug FROM knowledge_base_article WHERE search_vector @@ to_tsquery('english', 'factor')"
            )
        finally:
            await db.close()
        assert [tuple(r) for r in rows] == [
            ("invoices", "billing", "published", True),
            ("security", "account-security", "draft", False),
            ("refunds", "billing", "published", True),
        ]
        assert [r["slug"] for r in found] == ["security"]
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
