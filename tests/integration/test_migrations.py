"""Migrations run from zero, backwards to zero and forwards again, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg

from tables.piccolo_app import APP_CONFIG
from tests.conftest import _admin, database_url

ROOT = Path(__file__).resolve().parents[2]
RECURRA_TABLES = {t._meta.tablename for t in APP_CONFIG.table_classes}
# The indexes raw migrations create (composite, partial, or on columns SQLite must be able to drop).
RAW_INDEXES = {"invoice_renewal_period_uniq", "number_sequence_series_year_uniq", "webhook_event_gateway_event_uniq",
                  "idempotency_record_partner_key_uniq", "subscription_incomplete_customer_plan_uniq",
                  "payment_claim_invoice_uniq", "ticket_message_email_message_id_idx", "plan_family_version_uniq",
                  "price_move_open_uniq", "chat_live_customer_uniq"}  # fmt: skip


def piccolo(database_url_: str, *args: str) -> None:
    env = {**os.environ, "DATABASE_URL": database_url_}
    result = subprocess.run(
        [sys.executable, "-m", "piccolo.main", "migrations", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in result.stdout.lower(), result.stdout


def sqlite_state(path: Path) -> tuple[set[str], set[str]]:
    with sqlite3.connect(path) as connection:
        tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        indexes = {r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    return tables, indexes


async def postgres_state(url: str) -> tuple[set[str], set[str]]:
    connection = await asyncpg.connect(url)
    try:
        tables = {r[0] for r in await connection.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")}
        indexes = {r[0] for r in await connection.fetch("SELECT indexname FROM pg_indexes WHERE schemaname='public'")}
    finally:
        await connection.close()
    return tables, indexes


def test_sqlite_forwards_backwards_forwards(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.sqlite'}"
    piccolo(url, "forwards", "all")
    tables, indexes = sqlite_state(tmp_path / "m.sqlite")
    assert tables >= RECURRA_TABLES | {"piccolo_user", "sessions"}
    assert indexes >= RAW_INDEXES
    piccolo(url, "backwards", "all", "--auto_agree")
    tables, indexes = sqlite_state(tmp_path / "m.sqlite")
    assert not tables & RECURRA_TABLES
    assert not indexes & RAW_INDEXES
    piccolo(url, "forwards", "all")
    tables, indexes = sqlite_state(tmp_path / "m.sqlite")
    assert tables >= RECURRA_TABLES
    assert indexes >= RAW_INDEXES


async def test_postgres_forwards_backwards_forwards() -> None:
    name = f"recurra_migrations_{uuid.uuid4().hex[:8]}"
    url = database_url(name)
    await _admin(f'CREATE DATABASE "{name}"')
    try:
        piccolo(url, "forwards", "all")
        tables, indexes = await postgres_state(url)
        assert tables >= RECURRA_TABLES | {"piccolo_user", "sessions"}
        assert indexes >= RAW_INDEXES
        piccolo(url, "backwards", "all", "--auto_agree")
        tables, indexes = await postgres_state(url)
        assert not tables & RECURRA_TABLES
        assert not indexes & RAW_INDEXES
        piccolo(url, "forwards", "all")
        tables, indexes = await postgres_state(url)
        assert tables >= RECURRA_TABLES
        assert indexes >= RAW_INDEXES
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_every_table_change_has_a_migration(tmp_path: Path) -> None:
    """Piccolo's auto-migration, run on a copy of the code against a fully migrated database, finds nothing."""
    copy = tmp_path / "code"
    shutil.copytree(
        ROOT, copy, ignore=shutil.ignore_patterns(".venv", "var", ".git", "*_cache", "__pycache__", "tests")
    )
    url = f"sqlite:///{tmp_path / 'drift.sqlite'}"
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(copy)}
    run = [sys.executable, "-m", "piccolo.main", "migrations"]
    subprocess.run([*run, "forwards", "all"], cwd=copy, env=env, capture_output=True, timeout=300, check=True)
    result = subprocess.run(
        [*run, "new", "recurra", "--auto", "--desc=drift"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "No changes detected" in result.stdout, "tables changed without a migration:\n" + result.stdout
