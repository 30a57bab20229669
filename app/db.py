"""Database engines, lifecycle and checks: the PostgreSQL pool lives for the process; SQLite needs none.

Piccolo runs nothing after a commit, so the engines here are Piccolo's with one addition: the outermost
transaction runs the callbacks ``after_commit`` gave it once it has committed (never after a rollback). That is
where effects that must follow a change at once, yet only if it happened, belong (dropping a cache entry).

The few places SQL differs between the engines live here too. PostgreSQL locks rows (``FOR UPDATE [SKIP
LOCKED]``) so many workers share the work; SQLite has no row locks, so a writer takes the database's write lock
up front (``BEGIN IMMEDIATE``) and workers take turns.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from graphlib import TopologicalSorter
from typing import Any

from piccolo.columns import ForeignKey, OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.engine import engine_finder
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType
from piccolo.querystring import QueryString
from piccolo.table import Table

from app import clock
from app.settings import get_settings

log = logging.getLogger("recurra.db")

# SQLite: how long a statement waits for another connection's write lock before "database is locked". Writers
# take turns (write_transaction) and hold the lock for milliseconds; a billing batch holds it for a second or two.
SQLITE_BUSY_TIMEOUT_S = 30.0


def _row_defaults_read_the_clock() -> None:
    """Piccolo fills a ``TimestamptzNow`` column it was not given (``created_at``...) from ``datetime.now()``:
    make it ask ``app.clock`` like everything else, so a row's stamps agree with the time its writer lives at (a
    frozen test, a test run on a chosen day). The column's SQL default stays ``current_timestamp``: raw inserts
    name their time columns."""
    TimestamptzNow.python = lambda self: clock.now()  # type: ignore[method-assign]


_row_defaults_read_the_clock()

AfterCommit = Callable[[], Awaitable[None]]


class _RunsAfterCommit:
    """Mixed into Piccolo's transaction classes (which nest by handing back the outermost one)."""

    _parent: Any
    _committed: bool

    def pending(self) -> list[AfterCommit]:
        callbacks: list[AfterCommit] = self.__dict__.setdefault("after_commit", [])
        return callbacks

    async def __aexit__(self, *exc_info: Any) -> bool:
        outcome: bool = await super().__aexit__(*exc_info)  # type: ignore[misc]
        if self._parent is None and self._committed:
            await _run(self.__dict__.pop("after_commit", []))
        return outcome


class HookedPostgresTransaction(_RunsAfterCommit, PostgresTransaction):
    pass


class HookedSQLiteTransaction(_RunsAfterCommit, SQLiteTransaction):
    pass


class HookedPostgresEngine(PostgresEngine):
    def transaction(self, allow_nested: bool = True) -> PostgresTransaction:
        return HookedPostgresTransaction(engine=self, allow_nested=allow_nested)


class HookedSQLiteEngine(SQLiteEngine):
    def __init__(self, path: str, **connection_kwargs: Any) -> None:
        super().__init__(path=path, **{"timeout": SQLITE_BUSY_TIMEOUT_S, **connection_kwargs})

    def transaction(
        self, transaction_type: TransactionType = TransactionType.deferred, allow_nested: bool = True
    ) -> SQLiteTransaction:
        return HookedSQLiteTransaction(engine=self, transaction_type=transaction_type, allow_nested=allow_nested)


async def _run(callbacks: list[AfterCommit]) -> None:
    """The change is committed whatever happens here: a failing callback is logged, never raised."""
    for callback in callbacks:
        try:
            await callback()
        except Exception:
            log.exception("an after-commit callback failed")


async def after_commit(engine: Engine[Any], callback: AfterCommit) -> None:
    """Run ``callback`` once ``engine``'s current transaction has committed; at once when none is open (the
    write has committed already). A transaction of a plain Piccolo engine cannot say when it commits: the
    callback is skipped there, so use it only for effects something else also brings about later."""
    current = engine.current_transaction.get()
    if current is None:
        await _run([callback])
    elif isinstance(current, _RunsAfterCommit):
        current.pending().append(callback)


async def open_database() -> None:
    engine = engine_finder()
    if isinstance(engine, PostgresEngine):
        size = get_settings().database.pool_size
        await engine.start_connection_pool(min_size=min(2, size), max_size=size)
    elif isinstance(engine, SQLiteEngine):
        await use_wal(engine)


async def use_wal(engine: SQLiteEngine) -> None:
    """Write-ahead logging: readers (every web request) never wait for the writer (the billing run, the outbox
    dispatcher) nor it for them. A property of the file, kept once set."""
    await engine.run_ddl("PRAGMA journal_mode=WAL")


async def close_database() -> None:
    engine = engine_finder()
    if isinstance(engine, PostgresEngine):
        await engine.close_connection_pool()


async def ping_database() -> None:
    engine = engine_finder()
    if engine is None:
        raise RuntimeError("no database engine configured")
    await engine.run_ddl("SELECT 1")


async def migrate() -> None:
    """Apply every pending migration of every app (Piccolo's own, piccolo-admin's and Recurra's)."""
    from piccolo.apps.migrations.commands.forwards import run_forwards

    found = engine_finder()
    if isinstance(found, SQLiteEngine):
        await use_wal(found)
    response = await run_forwards(app_name="all")
    if not response.success:
        raise RuntimeError(f"migrations failed: {response.message}")


# Engine differences and raw SQL helpers (every domain's writers use these).


def engine() -> Engine[Any]:
    found = engine_finder()
    if found is None:
        raise RuntimeError("no database engine configured")
    return found


def is_postgres() -> bool:
    return engine().engine_type == "postgres"


def write_transaction() -> Any:
    """A transaction that will write: on SQLite it holds the write lock from its first statement, so a
    read-then-write inside it cannot be overtaken (and cannot fail with 'database is locked' half-way)."""
    db: Any = engine()
    if db.engine_type == "sqlite":
        return db.transaction(transaction_type=TransactionType.immediate)
    return db.transaction()


async def locked_row(table: type[Table], row_id: int) -> dict[str, Any] | None:
    """The row, locked until the enclosing transaction ends (PostgreSQL; SQLite's write_transaction already
    holds the database's write lock); None when it does not exist."""
    query = table.select().where(table._meta.primary_key == row_id)
    if is_postgres():
        query = query.lock_rows()
    row = await query.first()
    return dict(row) if row is not None else None


async def lock_row(table: type[Table], row_id: int) -> bool:
    """Lock one row until the enclosing transaction ends; False when the row does not exist."""
    return await locked_row(table, row_id) is not None


def for_update(*, skip_locked: bool = False, of: str = "") -> str:
    """The row-lock clause to end a SELECT with (empty on SQLite, see ``write_transaction``)."""
    if not is_postgres():
        return ""
    return " FOR UPDATE" + (f" OF {of}" if of else "") + (" SKIP LOCKED" if skip_locked else "")


def read_time(value: datetime | str) -> datetime:
    """A time selected by raw SQL, as aware UTC. PostgreSQL types every column; SQLite's driver converts a plain
    column of a table but hands back a computed one (``COALESCE(tc.frozen_time, {})``) as the text it stores."""
    return clock.as_utc(datetime.fromisoformat(value) if isinstance(value, str) else value)


def typed(sql_type: str) -> str:
    """A cast for a bare parameter whose type PostgreSQL cannot infer (in VALUES lists); SQLite needs none."""
    return f"::{sql_type}" if is_postgres() else ""


# asyncpg takes at most 32,767 parameters a statement; SQLite's default limit is 32,766.
MAX_PARAMETERS = 30_000


def values_list(rows: Sequence[Sequence[Any]], casts: Sequence[str] = ()) -> str:
    """``({}, {}), ({}, {})`` placeholders for Piccolo's raw(); ``casts`` types each column on PostgreSQL."""
    width = len(rows[0])
    suffixes = [typed(cast) if cast else "" for cast in casts] or [""] * width
    row = "(" + ", ".join("{}" + suffix for suffix in suffixes) + ")"
    return ", ".join([row] * len(rows))


async def fetch(template: str, *args: Any) -> list[dict[str, Any]]:
    """Run a raw statement written with Piccolo's ``{}`` placeholders.

    Inside a PostgreSQL transaction it goes straight to that transaction's asyncpg connection: Piccolo's
    QueryString processes each argument in Python, which for a batch's ~10,000 arguments took about half of
    the billing run's time. Elsewhere (SQLite, no transaction) Piccolo runs it as usual."""
    db: Any = engine()
    transaction = db.current_transaction.get() if db.engine_type == "postgres" else None
    if transaction is None:
        rows: list[dict[str, Any]] = await db.run_querystring(QueryString(template, *args))
        return rows
    head, *tail = template.split("{}")
    sql = head + "".join(f"${index}{part}" for index, part in enumerate(tail, start=1))
    return [dict(record) for record in await transaction.connection.fetch(sql, *args)]


async def insert_many(
    table: type[Table], columns: Sequence[str], rows: Sequence[Sequence[Any]], returning: str = ""
) -> list[dict[str, Any]]:
    """One multi-row INSERT per chunk: the batched write the billing run needs (a saved row each is ~15x slower).

    ``table``, ``columns`` and ``returning`` are code constants, never input; values go as parameters."""
    out: list[dict[str, Any]] = []
    if not rows:
        return out
    chunk = max(1, MAX_PARAMETERS // len(columns))
    for i in range(0, len(rows), chunk):
        part = rows[i : i + chunk]
        sql = (
            f"INSERT INTO {table._meta.tablename} ({', '.join(columns)}) VALUES {values_list(part)}"  # noqa: S608
            + (f" RETURNING {returning}" if returning else "")
        )
        out.extend(await fetch(sql, *(value for row in part for value in row)))
    return out


def _chunks(ids: Iterable[int]) -> list[list[int]]:
    values = sorted(ids)
    return [values[i : i + MAX_PARAMETERS] for i in range(0, len(values), MAX_PARAMETERS)]


async def delete_with_dependents(
    root: type[Table], ids: Iterable[int], tables: Iterable[type[Table]]
) -> dict[str, int]:
    """Delete ``root``'s rows ``ids`` and, transitively, every row of ``tables`` that belongs to one of them:
    a foreign key that refuses (RESTRICT) or follows (CASCADE) its parent's deletion; children first. Rows that
    only point at them (SET NULL) are left pointing at nothing. Call inside a write transaction; returns the
    rows deleted per table (those with any)."""
    owned_by: dict[type[Table], list[tuple[type[Table], ForeignKey[Any]]]] = {}
    for table in tables:
        for fk in table._meta.foreign_key_columns:
            if fk._foreign_key_meta.on_delete in (OnDelete.restrict, OnDelete.cascade, OnDelete.no_action):
                owned_by.setdefault(fk._foreign_key_meta.resolved_references, []).append((table, fk))
    doomed: dict[type[Table], set[int]] = {root: set(ids)}
    order: TopologicalSorter[type[Table]] = TopologicalSorter({root: set()})
    pending: list[tuple[type[Table], set[int]]] = [(root, doomed[root])]
    while pending:
        parent, parent_ids = pending.pop()
        for child, fk in owned_by.get(parent, []):
            found: set[int] = set()
            for chunk in _chunks(parent_ids):
                rows = await child.select(child._meta.primary_key).where(fk.is_in(chunk))
                found.update(row[child._meta.primary_key._meta.name] for row in rows)
            if new := found - doomed.setdefault(child, set()):
                doomed[child] |= new
                pending.append((child, new))
            if found:
                order.add(parent, child)  # the parent's rows go after the child's
    deleted: dict[str, int] = {}
    for table in order.static_order():
        for chunk in _chunks(doomed[table]):
            await table.delete().where(table._meta.primary_key.is_in(chunk))
        if doomed[table]:
            deleted[table._meta.tablename] = len(doomed[table])
    return deleted
