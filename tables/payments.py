from enum import StrEnum
from typing import TYPE_CHECKING

from piccolo.columns import JSON, Boolean, ForeignKey, Integer, OnDelete, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.readable import Readable
from piccolo.columns.reference import LazyTableReference
from piccolo.table import Table

from tables.accounts import Customer

if TYPE_CHECKING:
    from tables.billing import CreditNote, Invoice
    from tables.subscriptions import Subscription


class PaymentMethod(Table):
    """A gateway vault token and a masked label. Card or PayPal credentials are never stored."""

    id = Serial(primary_key=True)

    class Status(StrEnum):
        active = "active"
        deleted = "deleted"

    customer = ForeignKey(references=Customer, on_delete=OnDelete.restrict)
    gateway = Varchar(length=20, default="paypal")
    vault_token = Varchar(length=100, unique=True, help_text="The gateway's vault id for this method.")
    label = Varchar(length=200, help_text="What the customer recognises, e.g. 'PayPal j***@example.com'.")
    payer_id = Varchar(length=50, default="")
    status = Varchar(length=10, choices=Status, default=Status.active)
    is_default = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())

    @classmethod
    def get_readable(cls) -> Readable:
        return Readable(template="%s", columns=[cls.label])


class VaultSetup(Table):
    """A customer's saving of a PayPal account without a purchase (a trial, or "Use another PayPal account"),
    recorded before PayPal is asked. The setup token PayPal issues is bound to the customer (and the trial) that
    started it: a return with any other token changes nothing (``app.payments.methods``)."""

    id = Serial(primary_key=True)

    class Status(StrEnum):
        started = "started"  # PayPal is being asked for a setup token, or the payer is approving it
        failed = "failed"  # PayPal issued no setup token (see failure_*)
        saved = "saved"  # approved and turned into a saved payment method

    customer = ForeignKey(references=Customer, on_delete=OnDelete.restrict, index=True)
    subscription: ForeignKey["Subscription"] = ForeignKey(
        references=LazyTableReference("Subscription", module_path="tables.subscriptions"),
        null=True,
        default=None,
        on_delete=OnDelete.restrict,
        help_text="The trial this set-up starts; empty for a change of the payment method.",
    )
    request_id = Varchar(length=100, unique=True, help_text="Sent as PayPal-Request-Id when the setup token is made.")
    setup_token = Varchar(length=100, null=True, default=None, unique=True, help_text="PayPal's setup token id.")
    status = Varchar(length=10, choices=Status, default=Status.started)
    payment_method = ForeignKey(references=PaymentMethod, null=True, default=None, on_delete=OnDelete.set_null)
    failure_code = Varchar(length=100, default="", help_text="PayPal's issue code when a call failed (staff only).")
    failure_message = Text(default="", help_text="PayPal's words and debug id when a call failed (staff only).")
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class Payment(Table):
    """One attempt to collect an invoice through the gateway; its idempotency key is stored before the call.
    At most one payment of an invoice holds its claim (``processing`` or ``unknown``) at a time: only that one
    may ask PayPal to move money (``app.payments.service``)."""

    id = Serial(primary_key=True)

    class Status(StrEnum):
        pending = "pending"  # created, not yet claimed: a checkout waiting for its buyer
        processing = "processing"  # holds the invoice's claim: PayPal is being asked (or is about to be)
        succeeded = "succeeded"
        declined = "declined"
        failed = "failed"
        unknown = "unknown"
        refunded = "refunded"
        partially_refunded = "partially_refunded"

    class Kind(StrEnum):
        checkout = "checkout"  # the payer approves on PayPal, then Recurra captures the order
        vaulted = "vaulted"  # merchant-initiated: a saved method charged at once

    class FailureCategory(StrEnum):
        none = ""
        declined = "declined"
        retryable = "retryable"
        invalid_request = "invalid_request"

    invoice: ForeignKey["Invoice"] = ForeignKey(
        references=LazyTableReference("Invoice", module_path="tables.billing"), on_delete=OnDelete.restrict, index=True
    )
    customer = ForeignKey(references=Customer, on_delete=OnDelete.restrict)
    payment_method = ForeignKey(references=PaymentMethod, null=True, default=None, on_delete=OnDelete.set_null)
    kind = Varchar(length=10, choices=Kind, default=Kind.vaulted, help_text="How the reconciler re-asks PayPal.")
    amount_minor = Integer()
    currency = Varchar(length=3)
    status = Varchar(length=20, choices=Status, default=Status.pending, index=True)
    idempotency_key = Varchar(length=100, unique=True, help_text="Sent as PayPal-Request-Id.")
    gateway_order_id = Varchar(length=50, null=True, default=None, index=True)
    gateway_capture_id = Varchar(length=50, null=True, default=None, unique=True)
    amount_refunded_minor = Integer(default=0)
    failure_category = Varchar(length=20, choices=FailureCategory, default=FailureCategory.none)
    failure_code = Varchar(length=100, default="")
    failure_message = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class PaymentEvent(Table):
    id = Serial(primary_key=True)
    payment = ForeignKey(references=Payment, on_delete=OnDelete.restrict)
    event = Varchar(length=50)
    from_status = Varchar(length=20)
    to_status = Varchar(length=20)
    actor = Varchar(length=100)
    reason = Text(default="")
    occurred_at = Timestamptz(default=TimestamptzNow())


class Refund(Table):
    id = Serial(primary_key=True)

    class Status(StrEnum):
        pending = "pending"
        succeeded = "succeeded"
        failed = "failed"

    payment = ForeignKey(references=Payment, on_delete=OnDelete.restrict)
    credit_note: ForeignKey["CreditNote"] = ForeignKey(
        references=LazyTableReference("CreditNote", module_path="tables.billing"),
        null=True,
        default=None,
        on_delete=OnDelete.restrict,
    )
    amount_minor = Integer()
    currency = Varchar(length=3)
    status = Varchar(length=10, choices=Status, default=Status.pending)
    idempotency_key = Varchar(length=100, unique=True)
    gateway_refund_id = Varchar(length=50, null=True, default=None, unique=True)
    reason = Text(default="")
    actor = Varchar(length=100)
    failure_code = Varchar(length=100, default="")
    failure_message = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())


class WebhookEvent(Table):
    """An incoming gateway webhook, stored raw before it is processed; event ids are unique per gateway."""

    id = Serial(primary_key=True)

    class Status(StrEnum):
        received = "received"
        processed = "processed"
        ignored = "ignored"
        failed = "failed"

    gateway = Varchar(length=20, default="paypal")
    event_id = Varchar(length=100)
    event_type = Varchar(length=100)
    payload = JSON()
    status = Varchar(length=10, choices=Status, default=Status.received)
    attempts = Integer(default=0)
    last_error = Text(default="")
    received_at = Timestamptz(default=TimestamptzNow())
    processed_at = Timestamptz(null=True, default=None)
