"""Database engines, lifecycle and checks: the PostgreSQL pool lives for the process; SQLite needs none.

Piccolo runs nothing after a commit, so the engines here are Piccolo's with one addition: the outermost
transaction runs the callbacks ``after_commit`` gave it once it has committed (never after a rollback). That is
where effects that must follow a change at once, yet only if it happened, belong (dropping a cache entry).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from piccolo.engine import engine_finder
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType

from app.settings import get_settings

log = logging.getLogger("recurra.db")

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

    response = await run_forwards(app_name="all")
    if not response.success:
        raise RuntimeError(f"migrations failed: {response.message}")
