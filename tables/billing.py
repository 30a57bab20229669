from enum import StrEnum

from piccolo.columns import JSON, ForeignKey, Integer, OnDelete, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.readable import Readable
from piccolo.table import Table

from tables.accounts import Customer
from tables.catalog import Plan
from tables.payments import PaymentMethod
from tables.subscriptions import Subscription


class NumberSequence(Table):
    """Gapless counters per series and year (INV-2026-000042), advanced inside the finalizing transaction."""

    id = Serial(primary_key=True)

    series = Varchar(length=10)
    year = Integer()
    last_value = Integer(default=0)


class Invoice(Table):
    """A bill. Immutable once finalized (status open or later); corrections are credit notes."""

    id = Serial(primary_key=True)

    class Status(StrEnum):
        draft = "draft"
        open = "open"
        paid = "paid"
        void = "void"
        uncollectible = "uncollectible"

    class BillingReason(StrEnum):
        subscription_create = "subscription_create"
        subscription_cycle = "subscription_cycle"
        subscription_update = "subscription_update"
        manual = "manual"

    customer = ForeignKey(references=Customer, on_delete=OnDelete.restrict)
    subscription = ForeignKey(references=Subscription, null=True, default=None, on_delete=OnDelete.restrict)
    number = Varchar(length=30, null=True, default=None, unique=True, help_text="Allocated at finalization.")
    status = Varchar(length=15, choices=Status, default=Status.draft, index=True)
    billing_reason = Varchar(length=30, choices=BillingReason, default=BillingReason.manual)
    currency = Varchar(length=3)
    total_minor = Integer(default=0, help_text="Sum of the lines, fixed at finalization.")
    amount_paid_minor = Integer(default=0)
    period_start = Timestamptz(null=True, default=None)
    period_end = Timestamptz(null=True, default=None)
    customer_snapshot = JSON(default={}, help_text="Name, e-mail and address as they were at finalization.")
    payment_method = ForeignKey(references=PaymentMethod, null=True, default=None, on_delete=OnDelete.set_null)
    attempt_count = Integer(default=0)
    next_payment_attempt_at = Timestamptz(null=True, default=None, index=True)
    due_at = Timestamptz(null=True, default=None)
    finalized_at = Timestamptz(null=True, default=None)
    paid_at = Timestamptz(null=True, default=None)
    voided_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())

    @classmethod
    def get_readable(cls) -> Readable:
        return Readable(template="%s", columns=[cls.number])


class InvoiceLine(Table):
    id = Serial(primary_key=True)

    class Kind(StrEnum):
        subscription = "subscription"
        proration_credit = "proration_credit"
        proration_charge = "proration_charge"
        adjustment = "adjustment"

    invoice = ForeignKey(references=Invoice, on_delete=OnDelete.restrict)
    kind = Varchar(length=20, choices=Kind, default=Kind.subscription)
    description = Varchar(length=300)
    plan = ForeignKey(references=Plan, null=True, default=None, on_delete=OnDelete.restrict)
    quantity = Integer(default=1)
    unit_amount_minor = Integer()
    amount_minor = Integer(help_text="Rounded once, half-even, at this line.")
    period_start = Timestamptz(null=True, default=None)
    period_end = Timestamptz(null=True, default=None)


class InvoiceEvent(Table):
    id = Serial(primary_key=True)
    invoice = ForeignKey(references=Invoice, on_delete=OnDelete.restrict)
    event = Varchar(length=50)
    from_status = Varchar(length=15)
    to_status = Varchar(length=15)
    actor = Varchar(length=100)
    reason = Text(default="")
    occurred_at = Timestamptz(default=TimestamptzNow())


class CreditNote(Table):
    """A correction to a finalized invoice, with its own gapless number (CN-2026-000001)."""

    id = Serial(primary_key=True)

    invoice = ForeignKey(references=Invoice, on_delete=OnDelete.restrict)
    number = Varchar(length=30, unique=True)
    amount_minor = Integer()
    currency = Varchar(length=3)
    reason = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())


class BillingNotice(Table):
    """A reminder e-mail decided for one subscription period ("renewal" or "trial"): its unique key makes the
    reminder tick send each notice once, however often it runs."""

    id = Serial(primary_key=True)

    class Kind(StrEnum):
        renewal = "renewal"
        trial = "trial"

    key = Varchar(length=120, unique=True, help_text="kind:subscription:period end")
    subscription = ForeignKey(references=Subscription, on_delete=OnDelete.restrict)
    kind = Varchar(length=10, choices=Kind)
    created_at = Timestamptz(default=TimestamptzNow())


class PriceMove(Table):
    """A subscription moving to a newer price of its plan from one renewal on, with a notice e-mail sent
    PRICE_CHANGE_NOTICE_DAYS before that renewal. Until it applies, the subscription bills its own price."""

    id = Serial(primary_key=True)

    subscription = ForeignKey(references=Subscription, on_delete=OnDelete.restrict, index=True)
    from_plan = ForeignKey(references=Plan, on_delete=OnDelete.restrict, help_text="The price it moves away from.")
    to_plan = ForeignKey(references=Plan, on_delete=OnDelete.restrict, help_text="The newer version it moves to.")
    effective_at = Timestamptz(help_text="The renewal from which the new price is billed.")
    notice_at = Timestamptz(help_text="When the notice e-mail falls due.")
    noticed_at = Timestamptz(null=True, default=None, help_text="When the notice was decided (its e-mail follows).")
    applied_at = Timestamptz(null=True, default=None)
    canceled_at = Timestamptz(null=True, default=None, help_text="Replaced by a later move before it applied.")
    actor = Varchar(length=100)
    created_at = Timestamptz(default=TimestamptzNow())
