"""At most one payment per invoice holds its claim (``processing`` or ``unknown``), enforced by the database.

The payments service claims under a lock on the invoice row and checks for a rival claim first, so only one
payment of an invoice may ask PayPal to move money at a time; this partial unique index is the backstop should
anything else race it: a second claim fails to commit instead of charging the customer twice.
A plain ``CREATE UNIQUE INDEX ... WHERE`` runs the same on PostgreSQL and SQLite.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-25T11:21:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "one claimed payment per invoice"

NAME = "payment_claim_invoice_uniq"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="recurra", description=DESCRIPTION)

    async def create_index() -> None:
        await engine_finder().run_ddl(
            f"CREATE UNIQUE INDEX IF NOT EXISTS {NAME} ON payment (invoice) WHERE status IN ('processing', 'unknown')"
        )

    async def drop_index() -> None:
        await engine_finder().run_ddl(f"DROP INDEX IF EXISTS {NAME}")

    manager.add_raw(create_index)
    manager.add_raw_backwards(drop_index)
    return manager
