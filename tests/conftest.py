"""Test environment: a throwaway PostgreSQL database and a private Redis key prefix for this run.

The environment is set here, before anything imports the app, because Piccolo binds its engine on first use.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

RUN_ID = uuid.uuid4().hex[:10]
PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TEST_DB = f"recurra_test_{RUN_ID}"
VAR_DIR = Path(tempfile.mkdtemp(prefix="recurra-test-"))


def database_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


TEST_ENV = {
    "RECURRA_ENV": "test",
    "VAR_DIR": str(VAR_DIR),
    "DATABASE_URL": database_url(TEST_DB),
    "REDIS_URL": REDIS_URL,
    "REDIS_PREFIX": f"recurra-test-{RUN_ID}",
    "LOG_LEVEL": "WARNING",
    "BASE_URL": "http://testserver.local",
}
for _name in ("SMTP_URL", "PAYPAL_CLIENT_ID", "PAYPAL_CLIENT_SECRET", "PAYPAL_MODE", "SECRET_KEY", "PORT"):
    os.environ.pop(_name, None)
os.environ.update(TEST_ENV)


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def pytest_configure(config: pytest.Config) -> None:
    from piccolo.apps.user.tables import BaseUser

    from app.db import migrate

    # Staff passwords use PBKDF2 at 600k iterations (~0.3 s a hash); tests need correctness, not cost.
    BaseUser._pbkdf2_iteration_count = 1000
    asyncio.run(_admin(f'CREATE DATABASE "{TEST_DB}"'))
    with contextlib.redirect_stdout(io.StringIO()):  # Piccolo narrates every migration
        asyncio.run(migrate())


def pytest_unconfigure(config: pytest.Config) -> None:
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)'))
    asyncio.run(_flush_redis_prefix())
    shutil.rmtree(VAR_DIR, ignore_errors=True)


async def _flush_redis_prefix() -> None:
    from redis.asyncio import Redis

    redis = Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in redis.scan_iter(match=f"{TEST_ENV['REDIS_PREFIX']}*")]
        keys += [key async for key in redis.scan_iter(match="arq:*")]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


def _all_table_names() -> list[str]:
    from piccolo.apps.user.tables import BaseUser
    from piccolo_api.mfa.authenticator.tables import AuthenticatorSecret
    from piccolo_api.session_auth.tables import SessionsBase

    from tables.piccolo_app import APP_CONFIG

    tables = [*APP_CONFIG.table_classes, BaseUser, SessionsBase, AuthenticatorSecret]
    return [t._meta.tablename for t in tables]


@pytest.fixture
async def clean_db() -> AsyncIterator[None]:
    """Every test that touches the database starts from empty tables (requests through the client included:
    they share the same database, not a rolled-back transaction)."""
    from piccolo.engine import engine_finder

    yield
    engine = engine_finder()
    assert engine is not None
    await engine.run_ddl(f"TRUNCATE {', '.join(_all_table_names())} RESTART IDENTITY CASCADE")
