"""Database lifecycle and checks: the PostgreSQL pool lives for the process; SQLite needs none."""

from __future__ import annotations

from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine

POOL_MAX_SIZE = 20
POOL_MIN_SIZE = 2  # grow on demand: web replicas, workers and test servers share PostgreSQL's max_connections


async def open_database() -> None:
    engine = engine_finder()
    if isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(min_size=POOL_MIN_SIZE, max_size=POOL_MAX_SIZE)


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
