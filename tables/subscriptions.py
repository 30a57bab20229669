from enum import StrEnum

from piccolo.columns import JSON, Boolean, ForeignKey, OnDelete, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.readable import Readable
from piccolo.table import Table

from tables.accounts import Customer
from tables.catalog import Plan
from tables.payments import PaymentMethod


class Subscription(Table):
    """A customer's recurring access to a plan. Status changes only through the subscriptions service."""

    id = Serial(primary_key=True)

    class Status(StrEnum):
        incomplete = "incomplete"
        incomplete_expired = "incomplete_expired"
        trialing = "trialing"
        active = "active"
        past_due = "past_due"
        unpaid = "unpaid"
        paused = "paused"
        canceled = "canceled"

    customer = ForeignKey(references=Customer, on_delete=OnDelete.restrict)
    plan = ForeignKey(references=Plan, on_delete=OnDelete.restrict)
    status = Varchar(length=20, choices=Status, default=Status.incomplete, index=True)
    payment_method = ForeignKey(references=PaymentMethod, null=True, default=None, on_delete=OnDelete.set_null)
    current_period_start = Timestamptz()
    current_period_end = Timestamptz(index=True, help_text="Exclusive end of the paid period [start, end).")
    billing_anchor = Timestamptz(help_text="The instant periods are counted from.")
    trial_end = Timestamptz(null=True, default=None)
    pending_plan = ForeignKey(
        references=Plan,
        null=True,
        default=None,
        on_delete=OnDelete.restrict,
        help_text="A downgrade that takes effect at the period end.",
    )
    cancel_at_period_end = Boolean(default=False)
    cancel_reason = Text(default="")
    canceled_at = Timestamptz(null=True, default=None)
    ended_at = Timestamptz(null=True, default=None)
    paused_at = Timestamptz(null=True, default=None)
    expires_at = Timestamptz(null=True, default=None, help_text="When an incomplete subscription lapses.")
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())

    @classmethod
    def get_readable(cls) -> Readable:
        return Readable(template="Subscription #%s", columns=[cls.id])


class SubscriptionEvent(Table):
    """One row per transition: who moved the subscription from which state to which, when and why."""

    id = Serial(primary_key=True)

    subscription = ForeignKey(references=Subscription, on_delete=OnDelete.restrict)
    event = Varchar(length=50)
    from_status = Varchar(length=20)
    to_status = Varchar(length=20)
    actor = Varchar(length=100, help_text="customer:<id>, staff:<id>, partner:<id> or system.")
    reason = Text(default="")
    data = JSON(default={})
    occurred_at = Timestamptz(default=TimestamptzNow())
