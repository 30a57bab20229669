"""Full-text search over content items: PostgreSQL's tsvector with a GIN index, SQLite's FTS5.

PostgreSQL: a generated ``search_vector`` column (title weighted A, summary B, body C) kept current by the
database itself, ranked with ``ts_rank``. SQLite: an external-content FTS5 table over the same three columns,
kept in sync by triggers, ranked with ``bm25``. Either way every write to ``content_item`` (the admin, the
services, a raw UPDATE) updates search in the same statement; nothing in Python has to remember to. The SQL is
``tables.fulltext``'s, which help articles share.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from tables.fulltext import fulltext_steps

ID = "2026-11-25T09:33:40:295722"
VERSION = "1.38.0"
DESCRIPTION = "content full-text search"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="recurra", description=DESCRIPTION)
    create, drop = fulltext_steps("content_item", ["title", "summary", "body"])
    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
