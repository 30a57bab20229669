"""A customer's billing at a glance, for staff (the support console shows it beside every ticket): read-only.

What the customer sees is read through the same code as the portal (``manage.list_for`` for subscriptions and
their next bill as the billing run will write it, ``statements.list_invoices``, ``wallet.saved_methods``); what
only staff see is read here: every payment attempt with PayPal's own words, the dunning state of open invoices
(attempts made, the next retry, how many are left) and refunds PayPal has not completed yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app import clock
from app.billing import statements, wallet
from app.settings import BillingSettings
from app.subscriptions import manage
from app.subscriptions.states import Status
from tables.billing import Invoice
from tables.payments import Payment, Refund

RECENT = 5
DUNNING_STATUSES = (Status.past_due, Status.unpaid)


@dataclass(frozen=True, slots=True)
class StaffPayment:
    id: int
    at: datetime
    invoice_id: int
    invoice_number: str
    amount_minor: int
    currency: str
    status: str
    failure: str  # PayPal's code and words (staff only); "" when it went through


@dataclass(frozen=True, slots=True)
class Dunning:
    """An open invoice being collected: how often it was tried and when it is tried next."""

    invoice_id: int
    invoice_number: str
    amount_due_minor: int
    currency: str
    attempts: int
    retries_left: int
    next_retry_at: datetime | None  # None: no retry scheduled (the schedule is spent, or none is due)
    subscription_status: str


@dataclass(frozen=True, slots=True)
class OpenRefund:
    id: int
    payment_id: int
    amount_minor: int
    currency: str
    created_at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class BillingOverview:
    subscriptions: list[manage.SubscriptionView]
    invoices: list[dict[str, Any]]  # the newest RECENT, as the customer's invoice list has them
    invoice_count: int
    payments: list[StaffPayment]  # the newest RECENT attempts
    dunning: list[Dunning]
    open_refunds: list[OpenRefund]
    methods: list[wallet.MethodView]

    @property
    def plan_names(self) -> list[str]:
        return current_plans(self.subscriptions)


def current_plans(subscriptions: list[manage.SubscriptionView]) -> list[str]:
    """The names of the plans the customer is on now (a canned reply's {{plan}}): not ended, not unpaid-for yet."""
    return [s.plan.name for s in subscriptions if s.status not in (Status.canceled, Status.incomplete)]


async def customer_overview(customer_id: int, policy: BillingSettings, *, recent: int = RECENT) -> BillingOverview:
    subscriptions = await manage.list_for(customer_id)
    invoices = await statements.list_invoices(customer_id)
    return BillingOverview(
        subscriptions=subscriptions,
        invoices=invoices[:recent],
        invoice_count=len(invoices),
        payments=await _payments(customer_id, recent),
        dunning=await _dunning(customer_id, {s.id: s.status for s in subscriptions}, policy),
        open_refunds=await _open_refunds(customer_id),
        methods=await wallet.saved_methods(customer_id),
    )


async def _payments(customer_id: int, recent: int) -> list[StaffPayment]:
    rows = await (
        Payment.select(
            Payment.id, Payment.created_at, Payment.invoice, Payment.invoice.number.as_alias("number"),
            Payment.amount_minor, Payment.currency, Payment.status, Payment.failure_code, Payment.failure_message,
        )
        .where(Payment.customer == customer_id)
        .order_by(Payment.id, ascending=False)
        .limit(recent)
    )  # fmt: skip
    return [
        StaffPayment(
            p["id"], clock.as_utc(p["created_at"]), p["invoice"], p["number"] or "", p["amount_minor"], p["currency"],
            p["status"], " ".join(part for part in (p["failure_code"], p["failure_message"]) if part)[:300],
        )
        for p in rows
    ]  # fmt: skip


async def _dunning(customer_id: int, subscription_status: dict[int, str], policy: BillingSettings) -> list[Dunning]:
    rows = await Invoice.select(
        Invoice.id, Invoice.number, Invoice.total_minor, Invoice.amount_paid_minor, Invoice.currency,
        Invoice.attempt_count, Invoice.next_payment_attempt_at, Invoice.subscription,
    ).where(
        Invoice.customer == customer_id, Invoice.status == Invoice.Status.open, Invoice.attempt_count > 0
    ).order_by(Invoice.id)  # fmt: skip
    tries = 1 + len(policy.dunning_retry_days)  # the first charge, then each retry
    return [
        Dunning(
            invoice_id=r["id"], invoice_number=r["number"] or "",
            amount_due_minor=r["total_minor"] - r["amount_paid_minor"], currency=r["currency"],
            attempts=r["attempt_count"], retries_left=max(0, tries - r["attempt_count"]),
            next_retry_at=clock.as_utc(r["next_payment_attempt_at"]) if r["next_payment_attempt_at"] else None,
            subscription_status=subscription_status.get(r["subscription"], ""),
        )
        for r in rows
    ]  # fmt: skip


async def _open_refunds(customer_id: int) -> list[OpenRefund]:
    rows = (
        await Refund.select(
            Refund.id, Refund.payment, Refund.amount_minor, Refund.currency, Refund.created_at, Refund.reason
        )
        .where(Refund.payment.customer == customer_id, Refund.status == Refund.Status.pending)
        .order_by(Refund.id)
    )
    return [
        OpenRefund(r["id"], r["payment"], r["amount_minor"], r["currency"], clock.as_utc(r["created_at"]), r["reason"])
        for r in rows
    ]
