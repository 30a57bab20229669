from enum import StrEnum

from piccolo.columns import JSON, ForeignKey, OnDelete, Serial, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from tables.accounts import Customer


class AuditLog(Table):
    """Who did what to which record, from where, and when. Written by services, read-only in the admin."""

    id = Serial(primary_key=True)

    actor = Varchar(length=100, help_text="staff:<id>, customer:<id>, partner:<id> or system.")
    actor_label = Varchar(length=320, default="")
    action = Varchar(length=100, index=True)
    target_type = Varchar(length=50, default="")
    target_id = Varchar(length=50, default="")
    before = JSON(default={})
    after = JSON(default={})
    ip = Varchar(length=45, default="")
    created_at = Timestamptz(default=TimestamptzNow(), index=True)


class DataRequest(Table):
    """A customer's GDPR request: an export of their data or the erasure of their account."""

    id = Serial(primary_key=True)

    class Kind(StrEnum):
        export = "export"
        erasure = "erasure"

    class Status(StrEnum):
        pending = "pending"
        completed = "completed"
        failed = "failed"

    customer = ForeignKey(references=Customer, null=True, default=None, on_delete=OnDelete.set_null)
    kind = Varchar(length=10, choices=Kind)
    status = Varchar(length=10, choices=Status, default=Status.pending)
    file_key = Varchar(length=500, default="")
    requested_at = Timestamptz(default=TimestamptzNow())
    completed_at = Timestamptz(null=True, default=None)
