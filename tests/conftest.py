"""Test environment: a throwaway PostgreSQL database and a private Redis key prefix for this run.

The environment is set here, before anything imports the app, because Piccolo binds its engine on first use.
``RECURRA_TEST_DATABASE=sqlite`` runs on a throwaway SQLite file instead (the demo's engine; the scenario tests
run that way too, in a child run: tests/scenarios/test_on_sqlite.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from tests.smtp import Mailbox, smtp_server

RUN_ID = uuid.uuid4().hex[:10]
PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_SERVER = os.environ.get("TEST_REDIS_SERVER", "redis://127.0.0.1:6379")
REDIS_LOCK = "recurra:test-run"
ON_SQLITE = os.environ.get("RECURRA_TEST_DATABASE") == "sqlite"


def _claim_redis_database() -> str:
    """A Redis database of this run's own (1-15), so runs side by side never share arq's global keys (job
    ids dedupe for an hour) and a run can empty its database at the start and the end."""
    import redis

    for number in range(1, 16):
        client = redis.Redis.from_url(f"{REDIS_SERVER}/{number}")
        try:
            if client.set(REDIS_LOCK, RUN_ID, nx=True, ex=6 * 3600):
                for key in client.scan_iter():
                    if key != REDIS_LOCK.encode():
                        client.delete(key)
                return f"{REDIS_SERVER}/{number}"
        finally:
            client.close()
    raise RuntimeError("every Redis database 1-15 is held by another test run")


REDIS_URL = os.environ.get("TEST_REDIS_URL") or _claim_redis_database()
TEST_DB = f"recurra_test_{RUN_ID}"
VAR_DIR = Path(tempfile.mkdtemp(prefix="recurra-test-"))


def database_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


TEST_ENV = {
    "RECURRA_ENV": "test",
    "VAR_DIR": str(VAR_DIR),
    "DATABASE_URL": f"sqlite:///{VAR_DIR / 'test.sqlite'}" if ON_SQLITE else database_url(TEST_DB),
    "REDIS_URL": REDIS_URL,
    "REDIS_PREFIX": f"recurra-test-{RUN_ID}",
    "LOG_LEVEL": "WARNING",
    # The test process and each server it starts hold a pool: keep them small so runs side by side fit.
    "DATABASE_POOL_SIZE": "4",
    "BASE_URL": "http://testserver.local",
}
if os.environ.get("RECURRA_TEST_TODAY"):
    # `RECURRA_TEST_TODAY=2027-02-28 make test`: every process of the run (this one, the servers and workers it
    # starts) lives on that day, at the real time of day. The shift is counted from the day the run began, so a
    # run that crosses midnight keeps one shift in all its processes.
    from app.clock import real_now  # reads no settings until it ticks

    TEST_ENV["RECURRA_TEST_TODAY_FROM"] = os.environ.get("RECURRA_TEST_TODAY_FROM") or real_now().date().isoformat()
for _name in ("SMTP_URL", "PAYPAL_CLIENT_ID", "PAYPAL_CLIENT_SECRET", "PAYPAL_MODE", "SECRET_KEY", "PORT"):
    os.environ.pop(_name, None)
os.environ.update(TEST_ENV)


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def pytest_report_header() -> str:
    from app import clock

    return f"clock: {clock.now():%Y-%m-%d %H:%M} UTC" + (
        f" (RECURRA_TEST_TODAY={os.environ['RECURRA_TEST_TODAY']})" if clock.shift() else ""
    )


def pytest_configure(config: pytest.Config) -> None:
    from piccolo.apps.user.tables import BaseUser

    from app.db import migrate

    # Staff passwords use PBKDF2 at 600k iterations (~0.3 s a hash); tests need correctness, not cost.
    BaseUser._pbkdf2_iteration_count = 1000
    if not ON_SQLITE:
        asyncio.run(_admin(f'CREATE DATABASE "{TEST_DB}"'))
    with contextlib.redirect_stdout(io.StringIO()):  # Piccolo narrates every migration
        asyncio.run(migrate())


def pytest_unconfigure(config: pytest.Config) -> None:
    if not ON_SQLITE:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)'))
    asyncio.run(_release_redis_database())
    shutil.rmtree(VAR_DIR, ignore_errors=True)


async def _release_redis_database() -> None:
    from redis.asyncio import Redis

    redis = Redis.from_url(REDIS_URL)
    try:
        await redis.flushdb()
    finally:
        await redis.aclose()


def _all_table_names() -> list[str]:
    from piccolo.apps.user.tables import BaseUser
    from piccolo_api.mfa.authenticator.tables import AuthenticatorSecret
    from piccolo_api.session_auth.tables import SessionsBase

    from tables.piccolo_app import APP_CONFIG

    tables = [*APP_CONFIG.table_classes, BaseUser, SessionsBase, AuthenticatorSecret]
    return [t._meta.tablename for t in tables]


@pytest.fixture(scope="session")
def mailbox() -> Iterator[Mailbox]:
    """A real SMTP server for the whole run; the app under test (in process or a server) sends its mail here."""
    with smtp_server() as box:
        yield box


async def truncate_all() -> None:
    from piccolo.engine import engine_finder

    engine = engine_finder()
    assert engine is not None
    if ON_SQLITE:
        # No TRUNCATE in SQLite: every row deleted in one transaction with the foreign keys off (ids restart on
        # their own: a rowid table without AUTOINCREMENT counts on from its largest id, none once it is empty).
        deletes = "".join(f"DELETE FROM {name};" for name in _all_table_names())  # noqa: S608 - our table names
        with contextlib.closing(sqlite3.connect(engine.path, timeout=30)) as connection:
            connection.executescript(f"PRAGMA foreign_keys = OFF; BEGIN IMMEDIATE; {deletes} COMMIT;")
        return
    await engine.run_ddl(f"TRUNCATE {', '.join(_all_table_names())} RESTART IDENTITY CASCADE")


@pytest.fixture
async def clean_db() -> AsyncIterator[None]:
    """Every test that touches the database starts from empty tables (requests through the client included:
    they share the same database, not a rolled-back transaction)."""
    yield
    await truncate_all()
