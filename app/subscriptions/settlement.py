"""What a charge's outcome means for the invoice and its subscription: the calls the payments service makes
after it has recorded a payment (issue 4). Billing never calls the gateway; the gateway never moves statuses.

- ``settle_paid_invoice``: the invoice is paid; a first invoice activates its subscription, a plan-change
  invoice applies the change, a paid renewal brings a past_due/unpaid subscription back to active. Idempotent:
  the portal (synchronously, after a capture) and the payment.succeeded handler may both settle the same
  invoice, even at once; the invoice row lock serialises them and the second changes nothing.
- ``record_failed_charge``: one more attempt counted and the next one scheduled (the dunning policy - after
  1, 3, 5 days - belongs to the caller); a failed renewal moves an active subscription to past_due.
"""

from __future__ import annotations

from datetime import datetime

from app import clock
from app.billing import service as invoices
from app.billing.errors import IllegalTransition
from app.billing.sql import lock_row, write_transaction
from app.errors import NotFound
from app.subscriptions import changes
from app.subscriptions.service import activate, transition
from app.subscriptions.states import Event, Status
from tables.billing import Invoice


async def _invoice(invoice_id: int) -> dict[str, object]:
    row = (
        await Invoice.select(
            Invoice.id, Invoice.status, Invoice.subscription, Invoice.billing_reason, Invoice.subscription.status
        )
        .where(Invoice.id == invoice_id)
        .first()
    )
    if row is None:
        raise NotFound(f"There is no invoice #{invoice_id}.")
    return dict(row)


async def settle_paid_invoice(invoice_id: int, *, actor: str, at: datetime | None = None) -> None:
    at = at or clock.now()
    async with write_transaction():
        await lock_row(Invoice, invoice_id)  # a second settlement waits here, then finds the work done
        invoice = await _invoice(invoice_id)
        if invoice["status"] != Invoice.Status.paid:
            await invoices.mark_paid(invoice_id, actor=actor, at=at)
        subscription_id, status = invoice["subscription"], invoice["subscription.status"]
        if not isinstance(subscription_id, int):
            return  # a manual invoice: nothing else to do
        reason = invoice["billing_reason"]
        if reason == Invoice.BillingReason.subscription_create and status == Status.incomplete:
            await activate(subscription_id, actor=actor, at=at)
        elif reason == Invoice.BillingReason.subscription_update:
            await changes.complete_plan_change(invoice_id, actor=actor)  # idempotent: applied once
        elif status in (Status.past_due, Status.unpaid) and not await _other_open_invoices(subscription_id, invoice_id):
            await transition(subscription_id, Event.pay, actor=actor, at=at, reason=f"invoice #{invoice_id} paid")


async def settle_open_invoice(invoice_id: int, *, actor: str, at: datetime | None = None) -> bool:
    """``settle_paid_invoice`` for callers that may hear the same news twice (the charger and the
    ``payment.succeeded`` event, a replayed job): settles an open invoice once; False when it was not open."""
    row = await Invoice.select(Invoice.status).where(Invoice.id == invoice_id).first()
    if row is None or row["status"] != Invoice.Status.open:
        return False
    try:
        await settle_paid_invoice(invoice_id, actor=actor, at=at)
    except IllegalTransition:  # another settler marked it paid between our read and our write
        return False
    return True


async def record_failed_charge(
    invoice_id: int, *, actor: str, reason: str, next_attempt_at: datetime | None, at: datetime | None = None
) -> None:
    """Count the attempt and schedule the next (``None``: no more automatic attempts)."""
    at = at or clock.now()
    invoice = await _invoice(invoice_id)
    async with write_transaction():
        await Invoice.update(
            {Invoice.attempt_count: Invoice.attempt_count + 1, Invoice.next_payment_attempt_at: next_attempt_at}
        ).where(Invoice.id == invoice_id, Invoice.status == Invoice.Status.open)
        is_renewal = invoice["billing_reason"] == Invoice.BillingReason.subscription_cycle
        if is_renewal and invoice["subscription.status"] == Status.active and isinstance(invoice["subscription"], int):
            await transition(invoice["subscription"], Event.renew_failed, actor=actor, at=at, reason=reason)


async def _other_open_invoices(subscription_id: int, invoice_id: int) -> bool:
    count: int = await Invoice.count().where(
        Invoice.subscription == subscription_id, Invoice.status == Invoice.Status.open, Invoice.id != invoice_id
    )
    return count > 0
