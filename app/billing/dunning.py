"""Dunning: what a failed charge of an open invoice means (DESIGN.md section 3, Stripe's smart-retry-free
schedule). The first failure of a renewal makes the subscription ``past_due``; retries follow
``DUNNING_RETRY_DAYS`` (after 1, 3 and 5 days by default, counted from the invoice's due date); when the last
one fails, the subscription becomes ``unpaid`` or is canceled (``DUNNING_FINAL_ACTION``). Paying the open
invoice later restores it (``app.subscriptions.settlement``).

Access follows each subscription's own status and paid-through date: nothing here touches another
subscription of the same customer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from app import clock
from app.billing.sql import write_transaction
from app.errors import NotFound
from app.outbox.service import record
from app.settings import BillingSettings
from app.subscriptions import service as subscriptions
from app.subscriptions.settlement import record_failed_charge
from app.subscriptions.states import Event, Status
from tables.billing import Invoice
from tables.subscriptions import Subscription

FAILED_EVENT = "invoice.payment_failed"


def next_attempt_at(due_at: datetime, attempts_made: int, retry_days: Sequence[int]) -> datetime | None:
    """When to try again after ``attempts_made`` attempts (the first charge counts as one) have failed;
    None when the schedule is exhausted."""
    if attempts_made < 1 or attempts_made > len(retry_days):
        return None
    return due_at + timedelta(days=retry_days[attempts_made - 1])


async def _invoice(invoice_id: int) -> dict[str, Any]:
    row = (
        await Invoice.select(
            Invoice.id, Invoice.customer, Invoice.subscription, Invoice.billing_reason, Invoice.attempt_count,
            Invoice.due_at, Invoice.finalized_at, Invoice.total_minor, Invoice.currency, Invoice.number,
        )
        .where(Invoice.id == invoice_id)
        .first()
    )  # fmt: skip
    if row is None:
        raise NotFound(f"There is no invoice #{invoice_id}.")
    return dict(row)


async def record_failure(
    invoice_id: int, *, reason: str, policy: BillingSettings, actor: str, at: datetime | None = None
) -> datetime | None:
    """Count the failed attempt, schedule the next one (or give up and apply the final action), and write the
    ``invoice.payment_failed`` event the e-mail follows; all in one transaction. Returns the next attempt."""
    invoice = await _invoice(invoice_id)
    at = at or clock.now()
    due = clock.as_utc(invoice["due_at"] or invoice["finalized_at"] or at)
    attempts = invoice["attempt_count"] + 1
    retry_at = next_attempt_at(due, attempts, policy.dunning_retry_days)
    final = None
    async with write_transaction():
        await record_failed_charge(invoice_id, actor=actor, reason=reason, next_attempt_at=retry_at, at=at)
        subscription_id = invoice["subscription"]
        renewal = invoice["billing_reason"] == Invoice.BillingReason.subscription_cycle
        if retry_at is None and renewal and subscription_id is not None:
            final = await _give_up(subscription_id, policy, actor=actor, at=at, invoice_id=invoice_id)
        await record(
            FAILED_EVENT,
            "invoice",
            invoice_id,
            {
                "invoice_id": invoice_id,
                "customer_id": invoice["customer"],
                "subscription_id": subscription_id,
                "attempt": attempts,
                "reason": reason,
                "next_attempt_at": retry_at.isoformat() if retry_at else None,
                "final_action": final,
                "amount_minor": invoice["total_minor"],
                "currency": invoice["currency"],
                "number": invoice["number"],
            },
        )
    return retry_at


async def _give_up(
    subscription_id: int, policy: BillingSettings, *, actor: str, at: datetime, invoice_id: int
) -> str | None:
    """The last retry failed: the subscription becomes unpaid (kept, without access, until paid) or ends."""
    row = await Subscription.select(Subscription.status).where(Subscription.id == subscription_id).first()
    if row is None or row["status"] != Status.past_due:
        return None
    reason = f"invoice #{invoice_id}: payment retries exhausted"
    if policy.dunning_final_action == "cancel":
        await subscriptions.transition(
            subscription_id, Event.cancel, actor=actor, reason=reason, at=at,
            changes={Subscription.ended_at: at, Subscription.cancel_reason: "payment failed"},
        )  # fmt: skip
        return "canceled"
    await subscriptions.transition(subscription_id, Event.retries_exhausted, actor=actor, reason=reason, at=at)
    return "unpaid"
