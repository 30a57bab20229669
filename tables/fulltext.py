"""Full-text search DDL for a table, the same shape on every table that has it (run by raw migrations).

PostgreSQL: a generated ``search_vector`` column (the columns weighted A, B, C, ... in order) with a GIN index,
kept current by the database itself. SQLite: an external-content FTS5 table ``<table>_fts`` over the same columns,
kept in step by triggers. Either way every write to the table (the admin, the services, a raw UPDATE) updates
search in the same statement; nothing in Python has to remember to. Migrations call these with literal names, and
the SQL they produce must never change for a table that has it (it is part of an applied migration).
"""

# ruff: noqa: S608 - DDL from table and column names migrations pass as literals; no value ever reaches it

from __future__ import annotations

from collections.abc import Awaitable, Callable

from piccolo.engine import engine_finder

WEIGHTS = "ABCD"


def postgres_forwards(table: str, columns: list[str]) -> list[str]:
    vector = " || ".join(
        f"setweight(to_tsvector('english', coalesce({column}, '')), '{WEIGHTS[n]}')" for n, column in enumerate(columns)
    )
    return [
        f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS search_vector tsvector GENERATED ALWAYS AS ({vector}) STORED",
        f"CREATE INDEX IF NOT EXISTS {table}_search_idx ON {table} USING GIN (search_vector)",
    ]


def postgres_backwards(table: str) -> list[str]:
    return [f"DROP INDEX IF EXISTS {table}_search_idx", f"ALTER TABLE {table} DROP COLUMN IF EXISTS search_vector"]


def sqlite_forwards(table: str, columns: list[str]) -> list[str]:
    names = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    fts = f"{table}_fts"
    return [
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5("
        f"{names}, content='{table}', content_rowid='id', tokenize='porter unicode61')",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_insert AFTER INSERT ON {table} BEGIN "
        f"INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {new}); "
        "END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_delete AFTER DELETE ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, {names}) "
        f"VALUES ('delete', old.id, {old}); "
        "END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_update AFTER UPDATE OF {names} ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, {names}) "
        f"VALUES ('delete', old.id, {old}); "
        f"INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {new}); "
        "END",
        # Rows that existed before the migration.
        f"INSERT INTO {fts}({fts}) VALUES ('rebuild')",
    ]


def sqlite_backwards(table: str) -> list[str]:
    fts = f"{table}_fts"
    return [
        f"DROP TRIGGER IF EXISTS {fts}_update",
        f"DROP TRIGGER IF EXISTS {fts}_delete",
        f"DROP TRIGGER IF EXISTS {fts}_insert",
        f"DROP TABLE IF EXISTS {fts}",
    ]


Step = Callable[[], Awaitable[None]]


def fulltext_steps(table: str, columns: list[str]) -> tuple[Step, Step]:
    """The raw forwards and backwards steps that add (and remove) search over ``columns`` of ``table``."""

    async def create() -> None:
        engine = engine_finder()
        postgres = engine is not None and engine.engine_type == "postgres"
        for statement in postgres_forwards(table, columns) if postgres else sqlite_forwards(table, columns):
            await engine.run_ddl(statement)  # type: ignore[union-attr]

    async def drop() -> None:
        engine = engine_finder()
        postgres = engine is not None and engine.engine_type == "postgres"
        for statement in postgres_backwards(table) if postgres else sqlite_backwards(table):
            await engine.run_ddl(statement)  # type: ignore[union-attr]

    return create, drop
