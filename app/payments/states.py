"""The payment state machine as data, and the one function that moves a payment through it.

``transition`` locks the row, refuses a move the table does not allow, stamps ``updated_at``, writes the
PaymentEvent row (who, when, from, to, why) and the outbox event, all in one transaction.
"""

from __future__ import annotations

from typing import Any

from app import clock
from app.db import locked_row, write_transaction
from app.errors import Conflict
from app.outbox import service as outbox
from tables.payments import Payment, PaymentEvent

S = Payment.Status
# Failure codes Recurra writes itself (PayPal's own are its issue codes):
SUPERSEDED = "SUPERSEDED"  # closed unasked: another payment of the invoice held its claim or collected it
PAYER_CANCELLED = "PAYER_CANCELLED"  # the buyer cancelled on PayPal's checkout page

TRANSITIONS: dict[tuple[S, str], S] = {
    (S.pending, "claim"): S.processing,  # the invoice's one attempt allowed to ask PayPal now
    (S.pending, "supersede"): S.failed,  # another payment of the invoice holds the claim or collected it
    (S.pending, "succeed"): S.succeeded,  # news of money that moved must always be recordable (webhooks)
    (S.pending, "decline"): S.declined,
    (S.pending, "fail"): S.failed,  # our request was invalid, or the payer abandoned the checkout
    (S.pending, "lose_track"): S.unknown,  # timeout or 5xx: the money may have moved
    (S.processing, "succeed"): S.succeeded,
    (S.processing, "decline"): S.declined,
    (S.processing, "fail"): S.failed,
    (S.processing, "lose_track"): S.unknown,
    (S.unknown, "succeed"): S.succeeded,
    (S.unknown, "decline"): S.declined,
    (S.unknown, "fail"): S.failed,
    (S.unknown, "lose_track"): S.unknown,  # asked again, still no answer: the attempt is recorded
    (S.succeeded, "refund_part"): S.partially_refunded,
    (S.succeeded, "refund_all"): S.refunded,
    (S.partially_refunded, "refund_part"): S.partially_refunded,
    (S.partially_refunded, "refund_all"): S.refunded,
}
OUTBOX_EVENTS = {
    S.processing: "payment.processing",
    S.succeeded: "payment.succeeded",
    S.declined: "payment.failed",
    S.failed: "payment.failed",
    S.unknown: "payment.unknown",
    S.partially_refunded: "payment.refunded",
    S.refunded: "payment.refunded",
}


class IllegalTransition(Conflict):
    code = "payment_illegal_transition"


def allowed(current: str, event: str) -> S | None:
    return TRANSITIONS.get((S(current), event))


async def lock_payment(payment_id: int) -> dict[str, Any]:
    row = await locked_row(Payment, payment_id)
    if row is None:
        raise Conflict(f"payment {payment_id} does not exist", code="payment_not_found")
    return row


async def transition(
    payment_id: int,
    event: str,
    *,
    actor: str,
    reason: str = "",
    changes: dict[Any, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Move the payment by ``event``; returns the updated row. ``changes`` are further column updates
    (capture id, failure fields) made in the same statement; ``extra`` goes into the outbox payload."""
    async with write_transaction():
        row = await lock_payment(payment_id)
        target = allowed(row["status"], event)
        if target is None:
            raise IllegalTransition(f"payment {payment_id} cannot '{event}' from {row['status']}")
        now = clock.now()
        await Payment.update({Payment.status: target, Payment.updated_at: now, **(changes or {})}).where(
            Payment.id == payment_id
        )
        await PaymentEvent.insert(
            PaymentEvent(
                payment=payment_id,
                event=event,
                from_status=row["status"],
                to_status=target,
                actor=actor,
                reason=reason[:2000],
                occurred_at=now,
            )
        )
        updated = await lock_payment(payment_id)
        if target != row["status"] or target == S.partially_refunded:
            await outbox.record(OUTBOX_EVENTS[target], "payment", payment_id, outbox_payload(updated, extra))
        return updated


def outbox_payload(row: dict[str, Any], extra: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "payment_id": row["id"],
        "invoice_id": row["invoice"],
        "customer_id": row["customer"],
        "payment_method_id": row["payment_method"],
        "status": row["status"],
        "amount_minor": row["amount_minor"],
        "currency": row["currency"],
        "amount_refunded_minor": row["amount_refunded_minor"],
        "gateway_capture_id": row["gateway_capture_id"],
        "failure_category": row["failure_category"],
        "failure_code": row["failure_code"],
        "failure_message": row["failure_message"],
        **(extra or {}),
    }
