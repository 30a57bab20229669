"""Rules the database keeps whatever the code above it does (both engines, triggers and indexes):

- A plan's price (amount, currency, interval and its count) cannot change once anybody has subscribed to it,
  has it scheduled (a downgrade, a move to a new price) or was invoiced for it: a new price is a new version of
  the plan (``plan_price_immutable``). One plan per (family, version).
- A customer is a test customer from creation or never (``is_test`` cannot change), and only test customers
  live on a test clock, always (``customer_test_clock``): a real customer can never be put on a clock's time,
  and a clock with customers cannot be deleted from under them (its ON DELETE SET NULL is refused).
- A subscription has at most one open move to a new price.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-01T14:59:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "plan prices immutable once subscribed; test customers only on test clocks; one open price move"

PRICE_CHANGED_PG = (
    "(OLD.amount_minor, OLD.currency, OLD.\"interval\", OLD.interval_count) IS DISTINCT FROM "
    "(NEW.amount_minor, NEW.currency, NEW.\"interval\", NEW.interval_count)"
)
PRICE_CHANGED_SQLITE = (
    "NEW.amount_minor IS NOT OLD.amount_minor OR NEW.currency IS NOT OLD.currency "
    "OR NEW.\"interval\" IS NOT OLD.\"interval\" OR NEW.interval_count IS NOT OLD.interval_count"
)
PLAN_IN_USE = (
    "EXISTS (SELECT 1 FROM subscription WHERE plan = OLD.id OR pending_plan = OLD.id) "
    "OR EXISTS (SELECT 1 FROM price_move WHERE to_plan = OLD.id) "
    "OR EXISTS (SELECT 1 FROM invoice_line WHERE plan = OLD.id)"
)
PRICE_MESSAGE = "plan_price_immutable: this plan has subscribers; a new price is a new version of the plan"
IS_TEST_MESSAGE = "customer_is_test_fixed: a customer is a test customer from creation or never"
CLOCK_MESSAGE = "customer_test_clock: test customers, and only they, live on a test clock"

INDEXES = [
    "CREATE UNIQUE INDEX IF NOT EXISTS plan_family_version_uniq ON plan (family, version)",
    "CREATE UNIQUE INDEX IF NOT EXISTS price_move_open_uniq ON price_move (subscription) "
    "WHERE applied_at IS NULL AND canceled_at IS NULL",
]
DROP_INDEXES = ["DROP INDEX IF EXISTS price_move_open_uniq", "DROP INDEX IF EXISTS plan_family_version_uniq"]

POSTGRES_FORWARDS = [
    *INDEXES,
    "CREATE OR REPLACE FUNCTION plan_price_immutable() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"IF {PLAN_IN_USE} THEN RAISE EXCEPTION '{PRICE_MESSAGE}' USING ERRCODE = 'check_violation'; END IF; "
    "RETURN NEW; END $$",
    "DROP TRIGGER IF EXISTS plan_price_immutable ON plan",
    "CREATE TRIGGER plan_price_immutable BEFORE UPDATE OF amount_minor, currency, \"interval\", interval_count "
    f"ON plan FOR EACH ROW WHEN ({PRICE_CHANGED_PG}) EXECUTE FUNCTION plan_price_immutable()",
    "CREATE OR REPLACE FUNCTION customer_test_flag() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "IF TG_OP = 'UPDATE' AND NEW.is_test IS DISTINCT FROM OLD.is_test THEN "
    f"RAISE EXCEPTION '{IS_TEST_MESSAGE}' USING ERRCODE = 'check_violation'; END IF; "
    "IF (NEW.test_clock IS NOT NULL) <> NEW.is_test THEN "
    f"RAISE EXCEPTION '{CLOCK_MESSAGE}' USING ERRCODE = 'check_violation'; END IF; "
    "RETURN NEW; END $$",
    "DROP TRIGGER IF EXISTS customer_test_flag ON customer",
    "CREATE TRIGGER customer_test_flag BEFORE INSERT OR UPDATE OF is_test, test_clock ON customer "
    "FOR EACH ROW EXECUTE FUNCTION customer_test_flag()",
]
POSTGRES_BACKWARDS = [
    "DROP TRIGGER IF EXISTS customer_test_flag ON customer",
    "DROP FUNCTION IF EXISTS customer_test_flag()",
    "DROP TRIGGER IF EXISTS plan_price_immutable ON plan",
    "DROP FUNCTION IF EXISTS plan_price_immutable()",
    *DROP_INDEXES,
]

# SQLite stores booleans as 0/1.
_CLOCK_MISMATCH_SQLITE = "(NEW.test_clock IS NOT NULL) <> (NEW.is_test <> 0)"
SQLITE_FORWARDS = [
    *INDEXES,
    "CREATE TRIGGER IF NOT EXISTS plan_price_immutable "
    "BEFORE UPDATE OF amount_minor, currency, \"interval\", interval_count ON plan FOR EACH ROW "
    f"WHEN ({PRICE_CHANGED_SQLITE}) AND ({PLAN_IN_USE}) BEGIN SELECT RAISE(ABORT, '{PRICE_MESSAGE}'); END",
    "CREATE TRIGGER IF NOT EXISTS customer_is_test_fixed BEFORE UPDATE OF is_test ON customer FOR EACH ROW "
    f"WHEN NEW.is_test IS NOT OLD.is_test BEGIN SELECT RAISE(ABORT, '{IS_TEST_MESSAGE}'); END",
    "CREATE TRIGGER IF NOT EXISTS customer_test_clock_insert BEFORE INSERT ON customer FOR EACH ROW "
    f"WHEN {_CLOCK_MISMATCH_SQLITE} BEGIN SELECT RAISE(ABORT, '{CLOCK_MESSAGE}'); END",
    "CREATE TRIGGER IF NOT EXISTS customer_test_clock_update BEFORE UPDATE OF is_test, test_clock ON customer "
    f"FOR EACH ROW WHEN {_CLOCK_MISMATCH_SQLITE} BEGIN SELECT RAISE(ABORT, '{CLOCK_MESSAGE}'); END",
]
SQLITE_BACKWARDS = [
    "DROP TRIGGER IF EXISTS customer_test_clock_update",
    "DROP TRIGGER IF EXISTS customer_test_clock_insert",
    "DROP TRIGGER IF EXISTS customer_is_test_fixed",
    "DROP TRIGGER IF EXISTS plan_price_immutable",
    *DROP_INDEXES,
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
