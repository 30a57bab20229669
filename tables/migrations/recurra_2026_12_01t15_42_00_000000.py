"""At most one live (waiting or active) chat per customer, enforced by the database.

The chat service starts a chat under a lock on the customer's row and looks for a live one first, so two tabs
sending a first message at once add to one chat; this partial unique index is the backstop should anything
else race it. A plain ``CREATE UNIQUE INDEX ... WHERE`` runs the same on PostgreSQL and SQLite.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-01T15:42:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "one live chat per customer"

NAME = "chat_live_customer_uniq"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="recurra", description=DESCRIPTION)

    async def create_index() -> None:
        await engine_finder().run_ddl(
            f"CREATE UNIQUE INDEX IF NOT EXISTS {NAME} ON chat (customer) WHERE status IN ('waiting', 'active')"
        )

    async def drop_index() -> None:
        await engine_finder().run_ddl(f"DROP INDEX IF EXISTS {NAME}")

    manager.add_raw(create_index)
    manager.add_raw_backwards(drop_index)
    return manager
