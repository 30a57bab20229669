"""What a charge's outcome means for the invoice and its subscription: the calls the payments service makes
after it has recorded a payment (issue 4). Billing never calls the gateway; the gateway never moves statuses.

- ``settle_paid_invoice``: the invoice is paid; a first invoice activates its subscription, a plan-change
  invoice applies the change, a paid renewal brings a past_due/unpaid subscription back to active. Idempotent:
  the portal (synchronously, after a capture) and the payment.succeeded handler may both settle the same
  invoice, even at once; the invoice row lock serialises them and the second changes nothing.
- ``settle_open_invoice``: the same for callers that hear the news more than once (the charger, the
  ``payment.succeeded`` event, a replayed job). It also finishes a paid invoice whose subscription never
  followed (still incomplete, or past_due/unpaid for it): invoice and subscription change in one transaction,
  but a paid invoice must never leave its subscription behind, whatever wrote it.
- ``forgive_voided_invoice``: staff voided the renewal a past_due/unpaid subscription was behind on; it is
  active again, as if paid.

A failed charge is dunning's (``app.billing.dunning.record_failures``): the attempt counted, the next one
scheduled, and a failed renewal moves an active subscription to past_due.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app import clock
from app.billing import service as invoices
from app.billing.errors import IllegalTransition
from app.db import lock_row, write_transaction
from app.errors import NotFound
from app.subscriptions import changes
from app.subscriptions.service import activate, transition
from app.subscriptions.states import Event, Status
from tables.billing import Invoice


async def _read(invoice_id: int) -> dict[str, Any] | None:
    row = (
        await Invoice.select(
            Invoice.id, Invoice.status, Invoice.subscription, Invoice.billing_reason, Invoice.subscription.status
        )
        .where(Invoice.id == invoice_id)
        .first()
    )
    return dict(row) if row else None


async def _invoice(invoice_id: int) -> dict[str, Any]:
    row = await _read(invoice_id)
    if row is None:
        raise NotFound(f"There is no invoice #{invoice_id}.")
    return row


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
    """``settle_paid_invoice`` for callers that may hear the same news twice: settles an open invoice once,
    and finishes a paid one whose subscription still waits for it; False when there was nothing to do."""
    row = await _read(invoice_id)
    if row is None or not (row["status"] == Invoice.Status.open or await _left_behind(row)):
        return False
    try:
        await settle_paid_invoice(invoice_id, actor=actor, at=at)
    except IllegalTransition:  # another settler marked it paid between our read and our write
        return False
    return True


async def forgive_voided_invoice(invoice_id: int, *, actor: str, reason: str, at: datetime | None = None) -> bool:
    """A voided renewal was what its past_due or unpaid subscription was behind on: with nothing else of it
    open, the subscription is active again (as paying the invoice would have made it); True when it was."""
    at = at or clock.now()
    async with write_transaction():
        invoice = await _invoice(invoice_id)
        subscription_id, status = invoice["subscription"], invoice["subscription.status"]
        if (
            invoice["status"] != Invoice.Status.void
            or invoice["billing_reason"] != Invoice.BillingReason.subscription_cycle
            or status not in (Status.past_due, Status.unpaid)
            or await _other_open_invoices(subscription_id, invoice_id)
        ):
            return False
        await transition(subscription_id, Event.forgive, actor=actor, at=at, reason=reason)
    return True


async def _left_behind(invoice: dict[str, Any]) -> bool:
    """A paid invoice whose subscription did not follow: a first invoice whose subscription is still
    incomplete, or the latest renewal of a past_due/unpaid subscription with nothing else open. (A plan change
    is not finished here: a late replay must not undo a later change.)"""
    subscription_id, status = invoice["subscription"], invoice["subscription.status"]
    if invoice["status"] != Invoice.Status.paid or subscription_id is None:
        return False
    if invoice["billing_reason"] == Invoice.BillingReason.subscription_create:
        return bool(status == Status.incomplete)
    if invoice["billing_reason"] != Invoice.BillingReason.subscription_cycle:
        return False
    if status not in (Status.past_due, Status.unpaid) or await _other_open_invoices(subscription_id, invoice["id"]):
        return False
    latest = (
        await Invoice.select(Invoice.id)
        .where(
            Invoice.subscription == subscription_id, Invoice.billing_reason == Invoice.BillingReason.subscription_cycle
        )
        .order_by(Invoice.period_start, ascending=False)
        .first()
    )
    return latest is not None and latest["id"] == invoice["id"]


async def _other_open_invoices(subscription_id: int, invoice_id: int) -> bool:
    count: int = await Invoice.count().where(
        Invoice.subscription == subscription_id, Invoice.status == Invoice.Status.open, Invoice.id != invoice_id
    )
    return count > 0
