"""Plan changes: the preview the customer confirms, and the same numbers billed.

- ``preview_plan_change``: what they pay now, the next bill and when, when the change takes effect.
- ``change_plan``: a downgrade (or a change that would leave a credit) is scheduled as ``pending_plan`` and the
  billing run applies it at the period end; an upgrade or interval change gets a finalized invoice of its
  proration lines. The plan itself changes only in ``complete_plan_change``, which the payments service calls
  once that invoice is paid, so a failed charge leaves the plan as it was (DESIGN.md section 3). In a trial
  any change applies at once with no invoice: the trial runs on, on the new plan, to the same end.

What a credit may give back is read from the ledger (``paid_for_plan``), never assumed from the plan's price.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from piccolo.query.functions.aggregate import Sum

from app import clock
from app.billing import service as invoices
from app.billing.customer_time import customer_now
from app.billing.errors import ConcurrentChange, IllegalTransition
from app.billing.periods import Period
from app.billing.proration import Current, Paid, PlanChange, plan_change
from app.db import lock_row, write_transaction
from app.errors import Conflict
from app.outbox.service import record
from app.subscriptions.service import load, plan_terms
from app.subscriptions.states import Status
from tables.billing import CreditNote, Invoice, InvoiceLine
from tables.subscriptions import Subscription, SubscriptionEvent

CHANGEABLE = (Status.trialing, Status.active)


@dataclass(frozen=True, slots=True)
class PlanChangeStarted:
    change: PlanChange
    invoice: invoices.FinalizedInvoice | None  # to be charged now; None when scheduled for the period end
    applied: bool  # nothing left to collect: scheduled, or changed already (in a trial, or nothing was due)


async def preview_plan_change(subscription_id: int, plan_id: int, *, at: datetime | None = None) -> PlanChange:
    sub = await load(subscription_id)
    return await _price(sub, plan_id, at)


async def _price(sub: dict[str, Any], plan_id: int, at: datetime | None) -> PlanChange:
    if sub["status"] not in CHANGEABLE:
        raise IllegalTransition(f"A {sub['status']} subscription cannot change plan.")
    at = at or await customer_now(sub["customer"])
    period = Period(sub["current_period_start"], sub["current_period_end"])
    if sub["status"] == Status.trialing:
        current = Current.in_trial(period, sub["billing_anchor"])
    else:
        await _refuse_while_billed_unpaid(sub)
        current = Current(period, sub["billing_anchor"], await paid_for_plan(sub))
    old, new = await plan_terms(sub["plan"]), await plan_terms(plan_id)
    return plan_change(old, new, current, at)


async def paid_for_plan(sub: dict[str, Any]) -> Paid | None:
    """What was paid for the subscription's current plan in its current period: the newest paid invoice line
    that bought this plan's time from inside the period (the first invoice, a renewal, or the change that moved
    it here), less what credit notes of that invoice gave back. None when nothing was paid for it."""
    line = (
        await InvoiceLine.select(InvoiceLine.invoice, InvoiceLine.amount_minor, InvoiceLine.period_start)
        .where(
            InvoiceLine.invoice._.subscription == sub["id"],
            InvoiceLine.invoice._.status == Invoice.Status.paid,
            InvoiceLine.plan == sub["plan"],
            InvoiceLine.kind.is_in([InvoiceLine.Kind.subscription, InvoiceLine.Kind.proration_charge]),
            InvoiceLine.period_start >= sub["current_period_start"],
            InvoiceLine.period_start < sub["current_period_end"],
        )
        .order_by(InvoiceLine.period_start, ascending=False)
        .order_by(InvoiceLine.id, ascending=False)
        .first()
    )
    if line is None:
        return None
    credited = await CreditNote.select(Sum(CreditNote.amount_minor).as_alias("total")).where(
        CreditNote.invoice == line["invoice"]
    )
    paid = line["amount_minor"] - min(line["amount_minor"], int(credited[0]["total"] or 0))
    return Paid(paid, clock.as_utc(line["period_start"])) if paid > 0 else None


async def _refuse_while_billed_unpaid(sub: dict[str, Any]) -> None:
    """A bill for the period is still open (the renewal between its invoice and its charge): the time it bills is
    not paid, so it cannot be credited, and a change now would have it charged in full later as well."""
    bill = (
        await Invoice.select(Invoice.id)
        .where(
            Invoice.subscription == sub["id"],
            Invoice.status == Invoice.Status.open,
            Invoice.billing_reason != Invoice.BillingReason.subscription_update,
        )
        .first()
    )
    if bill is not None:
        raise Conflict(
            "This period's bill is not paid yet: you can change plan once it is.",
            code="period_unpaid",
            extra={"invoice": bill["id"]},
        )


async def change_plan(
    subscription_id: int, plan_id: int, *, actor: str, at: datetime | None = None
) -> PlanChangeStarted:
    sub = await load(subscription_id)
    change = await _price(sub, plan_id, at)
    if not change.immediate:
        await _write_plan(
            sub, {Subscription.pending_plan: plan_id}, "plan_change_scheduled", actor, change.effective_at
        )
        return PlanChangeStarted(change, None, applied=True)
    if change.trial:  # nothing to bill: the trial goes on, on the new plan, to the same end
        values = {Subscription.plan: plan_id, Subscription.pending_plan: None}
        await _write_plan(sub, values, "plan_change", actor, change.effective_at, data={"trial": True})
        return PlanChangeStarted(change, None, applied=True)
    async with write_transaction():
        # A double click or a second tab must not bill the same change twice: one open change invoice at a time.
        await lock_row(Subscription, subscription_id)
        pending = await Invoice.select(Invoice.id).where(
            Invoice.subscription == subscription_id,
            Invoice.billing_reason == Invoice.BillingReason.subscription_update,
            Invoice.status == Invoice.Status.open,
        )
        if pending:
            raise Conflict(
                "A plan change is already waiting for its payment.",
                code="plan_change_pending",
                extra={"invoice": pending[0]["id"]},
            )
        invoice_id = await invoices.create_draft(
            sub["customer"], change.currency, change.lines, subscription_id=subscription_id,
            billing_reason=Invoice.BillingReason.subscription_update, payment_method_id=sub["payment_method"],
        )  # fmt: skip
        invoice = await invoices.finalize(invoice_id, actor=actor, at=change.effective_at)
    if invoice.status == Invoice.Status.paid:  # nothing to collect: the change applies at once
        await complete_plan_change(invoice.id, actor=actor)
        return PlanChangeStarted(change, invoice, applied=True)
    return PlanChangeStarted(change, invoice, applied=False)


async def complete_plan_change(invoice_id: int, *, actor: str) -> None:
    """Apply the change a paid ``subscription_update`` invoice bought: its charge line names the new plan and
    the period it runs for (a full new period, re-anchored, for an interval change)."""
    invoice = (
        await Invoice.select(Invoice.subscription, Invoice.status, Invoice.billing_reason)
        .where(Invoice.id == invoice_id)
        .first()
    )
    if invoice is None or invoice["billing_reason"] != Invoice.BillingReason.subscription_update:
        raise Conflict(f"Invoice #{invoice_id} is not a plan change.", code="not_a_plan_change")
    if invoice["status"] != Invoice.Status.paid:
        raise Conflict(f"Invoice #{invoice_id} is not paid.", code="invoice_not_paid")
    charge = (
        await InvoiceLine.select()
        .where(InvoiceLine.invoice == invoice_id, InvoiceLine.kind != InvoiceLine.Kind.proration_credit)
        .first()
    )
    if charge is None:
        raise Conflict(f"Invoice #{invoice_id} has no charge line.", code="not_a_plan_change")
    sub = await load(invoice["subscription"])
    if sub["plan"] == charge["plan"]:
        return  # already applied: a repeated settlement (webhook and poller both) changes nothing
    values: dict[Any, Any] = {Subscription.plan: charge["plan"], Subscription.pending_plan: None}
    if charge["kind"] == InvoiceLine.Kind.subscription:  # interval change: a new period and anchor from now
        start = charge["period_start"]
        values |= {Subscription.billing_anchor: start, Subscription.current_period_start: start,
                   Subscription.current_period_end: charge["period_end"]}  # fmt: skip
    await _write_plan(sub, values, "plan_change", actor, charge["period_start"], data={"invoice": invoice_id})


async def cancel_scheduled_change(subscription_id: int, *, actor: str) -> None:
    sub = await load(subscription_id)
    if sub["pending_plan"] is None:
        raise Conflict("No plan change is scheduled.", code="not_scheduled")
    await _write_plan(
        sub, {Subscription.pending_plan: None}, "plan_change_unscheduled", actor, await customer_now(sub["customer"])
    )


async def _write_plan(
    sub: dict[str, Any],
    values: dict[Any, Any],
    event: str,
    actor: str,
    at: datetime,
    data: dict[str, Any] | None = None,
) -> None:
    """Plan changes are not status changes, yet they are recorded the same way: an event row and an outbox
    event (entitlements are cached per customer and invalidated by subscription events)."""
    async with write_transaction():
        moved = (
            await Subscription.update({**values, Subscription.updated_at: at})
            .where(Subscription.id == sub["id"], Subscription.status == sub["status"], Subscription.plan == sub["plan"])
            .returning(Subscription.id)
        )
        if not moved:
            raise ConcurrentChange("The subscription changed while this was decided; try again.")
        to_plan = values.get(Subscription.plan, values.get(Subscription.pending_plan))
        details = {"from_plan": sub["plan"], "to_plan": to_plan, **(data or {})}
        await SubscriptionEvent.insert(
            SubscriptionEvent(subscription=sub["id"], event=event, from_status=sub["status"], to_status=sub["status"],
                              actor=actor, data=details, occurred_at=at)
        )  # fmt: skip
        await record(
            f"subscription.{event}", "subscription", sub["id"], {"actor": actor, "at": at.isoformat(), **details}
        )
