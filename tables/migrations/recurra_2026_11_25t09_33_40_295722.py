"""Full-text search over content items: PostgreSQL's tsvector with a GIN index, SQLite's FTS5.

PostgreSQL: a generated ``search_vector`` column (title weighted A, summary B, body C) kept current by the
database itself, ranked with ``ts_rank``. SQLite: an external-content FTS5 table over the same three columns,
kept in sync by triggers, ranked with ``bm25``. Either way every write to ``content_item`` (the admin, the
services, a raw UPDATE) updates search in the same statement; nothing in Python has to remember to.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-25T09:33:40:295722"
VERSION = "1.38.0"
DESCRIPTION = "content full-text search"

POSTGRES_FORWARDS = [
    "ALTER TABLE content_item ADD COLUMN IF NOT EXISTS search_vector tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(summary, '')), 'B') || "
    "setweight(to_tsvector('english', coalesce(body, '')), 'C')) STORED",
    "CREATE INDEX IF NOT EXISTS content_item_search_idx ON content_item USING GIN (search_vector)",
]
POSTGRES_BACKWARDS = [
    "DROP INDEX IF EXISTS content_item_search_idx",
    "ALTER TABLE content_item DROP COLUMN IF EXISTS search_vector",
]

SQLITE_FORWARDS = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS content_item_fts USING fts5("
    "title, summary, body, content='content_item', content_rowid='id', tokenize='porter unicode61')",
    "CREATE TRIGGER IF NOT EXISTS content_item_fts_insert AFTER INSERT ON content_item BEGIN "
    "INSERT INTO content_item_fts(rowid, title, summary, body) VALUES (new.id, new.title, new.summary, new.body); "
    "END",
    "CREATE TRIGGER IF NOT EXISTS content_item_fts_delete AFTER DELETE ON content_item BEGIN "
    "INSERT INTO content_item_fts(content_item_fts, rowid, title, summary, body) "
    "VALUES ('delete', old.id, old.title, old.summary, old.body); "
    "END",
    "CREATE TRIGGER IF NOT EXISTS content_item_fts_update AFTER UPDATE OF title, summary, body ON content_item BEGIN "
    "INSERT INTO content_item_fts(content_item_fts, rowid, title, summary, body) "
    "VALUES ('delete', old.id, old.title, old.summary, old.body); "
    "INSERT INTO content_item_fts(rowid, title, summary, body) VALUES (new.id, new.title, new.summary, new.body); "
    "END",
    # Items that existed before this migration.
    "INSERT INTO content_item_fts(content_item_fts) VALUES ('rebuild')",
]
SQLITE_BACKWARDS = [
    "DROP TRIGGER IF EXISTS content_item_fts_update",
    "DROP TRIGGER IF EXISTS content_item_fts_delete",
    "DROP TRIGGER IF EXISTS content_item_fts_insert",
    "DROP TABLE IF EXISTS content_item_fts",
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="recurra", description=DESCRIPTION)

    async def create() -> None:
        engine = engine_finder()
        for statement in POSTGRES_FORWARDS if engine.engine_type == "postgres" else SQLITE_FORWARDS:
            await engine.run_ddl(statement)

    async def drop() -> None:
        engine = engine_finder()
        for statement in POSTGRES_BACKWARDS if engine.engine_type == "postgres" else SQLITE_BACKWARDS:
            await engine.run_ddl(statement)

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
