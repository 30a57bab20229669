from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from enum import Enum
from piccolo.columns.column_types import ForeignKey
from piccolo.columns.column_types import Varchar

ID = "2026-11-25T11:20:30:182551"
VERSION = "1.38.0"
DESCRIPTION = "payment claim per invoice: processing status, index on invoice"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="recurra", description=DESCRIPTION
    )

    manager.alter_column(
        table_class_name="Payment",
        tablename="payment",
        column_name="invoice",
        db_column_name="invoice",
        params={"index": True},
        old_params={"index": False},
        column_class=ForeignKey,
        old_column_class=ForeignKey,
        schema=None,
    )

    manager.alter_column(
        table_class_name="Payment",
        tablename="payment",
        column_name="status",
        db_column_name="status",
        params={
            "choices": Enum(
                "Status",
                {
                    "pending": "pending",
                    "processing": "processing",
                    "succeeded": "succeeded",
                    "declined": "declined",
                    "failed": "failed",
                    "unknown": "unknown",
                    "refunded": "refunded",
                    "partially_refunded": "partially_refunded",
                },
            )
        },
        old_params={
            "choices": Enum(
                "Status",
                {
                    "pending": "pending",
                    "succeeded": "succeeded",
                    "declined": "declined",
                    "failed": "failed",
                    "unknown": "unknown",
                    "refunded": "refunded",
                    "partially_refunded": "partially_refunded",
                },
            )
        },
        column_class=Varchar,
        old_column_class=Varchar,
        schema=None,
    )

    return manager
