from piccolo.columns import JSON, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class OutboxEvent(Table):
    """A domain event written in the transaction of the change that caused it, dispatched after commit."""

    id = Serial(primary_key=True)

    event_type = Varchar(length=100, help_text="e.g. subscription.updated, invoice.paid.")
    aggregate_type = Varchar(length=50)
    aggregate_id = Varchar(length=50)
    payload = JSON(default={})
    created_at = Timestamptz(default=TimestamptzNow())
    dispatched_at = Timestamptz(null=True, default=None, index=True)
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(null=True, default=None)
    last_error = Text(default="")
