"""Find a ticket's message by the Message-ID of its e-mail (threading a reply that names it in its headers).

A raw index, not ``index=True`` on the column: SQLite cannot drop a column an index still covers, so the column's
own migration could not run backwards; this one drops the index first. Runs the same on PostgreSQL and SQLite.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-01T15:11:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "index ticket messages by e-mail Message-ID"

NAME = "ticket_message_email_message_id_idx"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="recurra", description=DESCRIPTION)

    async def create_index() -> None:
        await engine_finder().run_ddl(f"CREATE INDEX IF NOT EXISTS {NAME} ON ticket_message (email_message_id)")

    async def drop_index() -> None:
        await engine_finder().run_ddl(f"DROP INDEX IF EXISTS {NAME}")

    manager.add_raw(create_index)
    manager.add_raw_backwards(drop_index)
    return manager
