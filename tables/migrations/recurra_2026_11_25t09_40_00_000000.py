"""One checkout in progress (an ``incomplete`` subscription) per customer and plan, enforced by the database.

The portal's subscribe service already serialises a customer's requests (a row lock on the customer) and
reuses an incomplete subscription; this partial unique index is the backstop should anything else race it:
two subscriptions for one double click would both be incomplete. Live subscriptions are not constrained (a
customer may hold the same plan twice, as on Stripe, and the billing tests and bench seed exactly that).
A plain ``CREATE UNIQUE INDEX ... WHERE`` runs the same on PostgreSQL and SQLite.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-25T09:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "one incomplete subscription per customer and plan"

NAME = "subscription_incomplete_customer_plan_uniq"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="recurra", description=DESCRIPTION)

    async def create_index() -> None:
        engine = engine_finder()
        await engine.run_ddl(
            f"CREATE UNIQUE INDEX IF NOT EXISTS {NAME} ON subscription (customer, plan) WHERE status = 'incomplete'"
        )

    async def drop_index() -> None:
        await engine_finder().run_ddl(f"DROP INDEX IF EXISTS {NAME}")

    manager.add_raw(create_index)
    manager.add_raw_backwards(drop_index)
    return manager
