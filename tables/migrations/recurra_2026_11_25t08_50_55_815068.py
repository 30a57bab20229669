"""Composite and partial unique indexes that protect DESIGN.md section 2's rules.

Piccolo's composite ``Unique`` constraint cannot be added on SQLite (no ALTER TABLE ADD CONSTRAINT), so
these are plain ``CREATE UNIQUE INDEX`` statements, which both engines run the same way.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-25T08:50:55:815068"
VERSION = "1.38.0"
DESCRIPTION = "composite and partial unique indexes"

# (index name, table, columns, optional WHERE clause)
INDEXES = [
    # Gapless numbering: one counter per series and year.
    ("number_sequence_series_year_uniq", "number_sequence", "series, year", None),
    # One renewal invoice per subscription period, however many workers run the billing cycle.
    (
        "invoice_renewal_period_uniq",
        "invoice",
        "subscription, period_start",
        "billing_reason = 'subscription_cycle'",
    ),
    # Incoming webhooks are deduplicated by the gateway's event id.
    ("webhook_event_gateway_event_uniq", "webhook_event", "gateway, event_id", None),
    # A partner's Idempotency-Key is answered once.
    ("idempotency_record_partner_key_uniq", "idempotency_record", "partner, key", None),
    # Each partner webhook endpoint receives each event once.
    ("webhook_delivery_endpoint_event_uniq", "webhook_delivery", "endpoint, event", None),
    ("plan_feature_plan_feature_uniq", "plan_feature", "plan, feature", None),
    ("content_item_feature_uniq", "content_item_feature", "item, feature", None),
    ("content_item_tag_uniq", "content_item_tag", "item, tag", None),
]

# Plain (non-unique) indexes for the hot paths: the billing run's claim query and the outbox dispatcher.
PLAIN_INDEXES = [
    ("subscription_status_period_end_idx", "subscription", "status, current_period_end"),
    ("outbox_event_pending_idx", "outbox_event", "dispatched_at, next_attempt_at"),
]


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="recurra", description=DESCRIPTION)

    async def create_indexes() -> None:
        engine = engine_finder()
        for name, table, columns, where in INDEXES:
            condition = f" WHERE {where}" if where else ""
            await engine.run_ddl(f"CREATE UNIQUE INDEX IF NOT EXISTS {name} ON {table} ({columns}){condition}")
        for name, table, columns in PLAIN_INDEXES:
            await engine.run_ddl(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({columns})")

    async def drop_indexes() -> None:
        engine = engine_finder()
        for name, *_ in INDEXES + PLAIN_INDEXES:
            await engine.run_ddl(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(create_indexes)
    manager.add_raw_backwards(drop_indexes)
    return manager
