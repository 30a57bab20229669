"""The billing actions staff run, one code path for both doors: the admin's staff-action forms (app/admin_*.py)
and the support console's ticket panel (``app.support.ticket_billing``) call these, so a refund from a ticket is
the refund the admin makes, with the same checks, words and audit entry.

Each action calls the one service the portal and the worker use (the charger, the invoice adjustments, refunds,
the subscription lifecycle, the receipt mail) and answers what it came to (``Done``): the words for the staff
member who ran it (``message``), one line for the record (``summary``, the ticket's internal note) and the audit
entry's fields. The caller checks the role (``NEEDS``) and writes the audit entry (``record``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import InvalidOperation
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from app import clock
from app.admin_permissions import StaffAction
from app.audit.service import record_audit
from app.billing import adjustments, mails
from app.billing.charger import InvoiceCharger
from app.errors import InvalidInput, NotFound
from app.jobs import JobQueue
from app.money import CurrencyError, Money
from app.payments import refunds
from app.payments.gateway import PaymentGateway
from app.settings import Settings
from app.subscriptions import service as subscriptions
from tables.billing import Invoice
from tables.payments import Payment, Refund
from tables.subscriptions import Subscription

PAUSED_BY_STAFF = "paused by staff"


class Kind(StrEnum):
    resend_receipt = "resend_receipt"
    retry_payment = "retry_payment"
    pause = "pause"
    resume = "resume"
    extend_trial = "extend_trial"
    goodwill_credit = "goodwill_credit"
    refund = "refund"


# Which staff actions each is (app.admin_permissions.may decides who runs it) and what it acts on.
NEEDS: dict[Kind, StaffAction] = {
    Kind.resend_receipt: StaffAction.receipts,
    Kind.retry_payment: StaffAction.money,
    Kind.pause: StaffAction.subscriptions,
    Kind.resume: StaffAction.subscriptions,
    Kind.extend_trial: StaffAction.subscriptions,
    Kind.goodwill_credit: StaffAction.money,
    Kind.refund: StaffAction.money,
}
TARGETS: dict[Kind, str] = {
    Kind.resend_receipt: "invoice",
    Kind.retry_payment: "invoice",
    Kind.goodwill_credit: "invoice",
    Kind.refund: "payment",
    Kind.pause: "subscription",
    Kind.resume: "subscription",
    Kind.extend_trial: "subscription",
}


def when(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC" if at is not None else "never"


@dataclass(frozen=True, slots=True)
class Means:
    """What the actions reach beyond the database: the app's settings, PayPal and the job queue (mail)."""

    settings: Settings
    gateway: PaymentGateway
    queue: JobQueue


@dataclass(frozen=True, slots=True)
class Done:
    """What an action came to. ``ok``: what it is for happened (the charge went through or is under way, the
    refund was not refused by PayPal); a refusal by a service raises instead."""

    summary: str
    message: str
    audit_action: str
    target_type: str
    target_id: int
    after: dict[str, Any] = field(default_factory=dict)
    before: dict[str, Any] | None = None
    ok: bool = True


async def record(done: Done, *, actor: str, actor_label: str = "", ip: str = "", **context: Any) -> None:
    """The action's audit entry (``context``: further fields, e.g. the ticket it was run from)."""
    await record_audit(
        done.audit_action, actor=actor, actor_label=actor_label, ip=ip, target_type=done.target_type,
        target_id=done.target_id, before=done.before, after={**done.after, **context},
    )  # fmt: skip


# --- what an action acts on, and the amounts and dates staff type ----------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    customer_id: int
    currency: str
    label: str  # "invoice INV-2026-000042", "payment #12", "subscription #3"
    trial_end: datetime | None = None


async def target_of(kind: Kind, target_id: int) -> Target:
    """The invoice, payment or subscription ``kind`` acts on; NotFound when there is none."""
    what = TARGETS[kind]
    if what == "invoice":
        invoice = await Invoice.select(Invoice.customer, Invoice.currency, Invoice.number).where(
            Invoice.id == target_id
        ).first()  # fmt: skip
        if invoice is None:
            raise NotFound(f"There is no invoice #{target_id}.", code="invoice_not_found")
        return Target(invoice["customer"], invoice["currency"], f"invoice {invoice['number'] or f'#{target_id}'}")
    if what == "payment":
        payment = await Payment.select(Payment.customer, Payment.currency).where(Payment.id == target_id).first()
        if payment is None:
            raise NotFound(f"There is no payment #{target_id}.", code="payment_not_found")
        return Target(payment["customer"], payment["currency"], f"payment #{target_id}")
    sub = await Subscription.select(
        Subscription.customer, Subscription.trial_end, Subscription.plan.currency.as_alias("currency")
    ).where(Subscription.id == target_id).first()  # fmt: skip
    if sub is None:
        raise NotFound(f"There is no subscription #{target_id}.", code="subscription_not_found")
    trial_end = clock.as_utc(sub["trial_end"]) if sub["trial_end"] else None
    return Target(sub["customer"], sub["currency"], f"subscription #{target_id}", trial_end)


def money(text: str, currency: str) -> Money | None:
    """An amount typed like 4.00 in ``currency``; None when left empty (all of it)."""
    if not text.strip():
        return None
    try:
        return Money.from_decimal_string(text.strip(), currency)
    except (InvalidOperation, CurrencyError, OverflowError) as exc:
        raise InvalidInput(f"Enter the amount like 4.00, in {currency}.", code="amount_invalid") from exc


async def amount_for(kind: Kind, target_id: int, text: str) -> Money | None:
    """An amount typed for a refund or credit, in the currency of the payment or invoice it is for."""
    return money(text, (await target_of(kind, target_id)).currency)


def on_day(day: date, keep_time_of: datetime | None, zone: ZoneInfo) -> datetime:
    """``day`` in ``zone`` at the time of day ``keep_time_of`` has there (midnight without one), in UTC: a trial
    moved to another day keeps its hour."""
    local = keep_time_of.astimezone(zone).time() if keep_time_of else datetime.min.time()
    return clock.as_utc(datetime.combine(day, local, tzinfo=zone))


# --- an action as data: what a support agent asks billing staff to run ----------------------------------


@dataclass(frozen=True, slots=True)
class BillingAction:
    """One action on one target, as a request keeps it (``params``) and a person reads it (``describe``)."""

    kind: Kind
    target_id: int
    amount: Money | None = None  # refund, goodwill credit: None is all there is
    trial_end: datetime | None = None  # extend_trial
    label: str = ""  # the target as staff know it ("invoice INV-2026-000042")

    @property
    def needs(self) -> StaffAction:
        return NEEDS[self.kind]

    def params(self) -> dict[str, Any]:
        values: dict[str, Any] = {"target_id": self.target_id, "label": self.label}
        if self.amount is not None:
            values |= {"amount_minor": self.amount.amount_minor, "currency": self.amount.currency}
        if self.trial_end is not None:
            values["trial_end"] = self.trial_end.isoformat()
        return values

    @classmethod
    def of(cls, kind: str, params: Mapping[str, Any]) -> BillingAction:
        amount = Money(int(params["amount_minor"]), str(params["currency"])) if "amount_minor" in params else None
        trial_end = datetime.fromisoformat(params["trial_end"]) if "trial_end" in params else None
        return cls(Kind(kind), int(params["target_id"]), amount, trial_end, str(params.get("label", "")))

    def describe(self) -> str:
        """What it does, in the imperative: "Refund $4.00 of payment #12"."""
        target = self.label or f"{TARGETS[self.kind]} #{self.target_id}"
        amount = self.amount.format() if self.amount else ""
        return {
            Kind.resend_receipt: f"Resend the receipt of {target}",
            Kind.retry_payment: f"Retry the payment of {target} now",
            Kind.pause: f"Pause {target}",
            Kind.resume: f"Resume {target}",
            Kind.extend_trial: f"Extend the trial of {target} to {when(self.trial_end)}",
            Kind.goodwill_credit: f"Credit {amount} on {target}" if amount else f"Credit all {target} still owes",
            Kind.refund: f"Refund {amount} of {target}" if amount else f"Refund all that is left of {target}",
        }[self.kind]


async def run(means: Means, action: BillingAction, *, actor: str, reason: str) -> Done:
    """Run ``action`` as ``actor`` (``staff:<id>``) through its service; a refusal raises the service's error."""
    target = action.target_id
    match action.kind:
        case Kind.resend_receipt:
            return await resend_receipt(means, target)
        case Kind.retry_payment:
            return await retry_payment(means, target, actor=actor)
        case Kind.pause:
            return await pause(target, actor=actor, reason=reason)
        case Kind.resume:
            return await resume(target, actor=actor, reason=reason)
        case Kind.extend_trial:
            if action.trial_end is None:
                raise InvalidInput("Choose the day the trial should end.", code="trial_end_missing")
            return await extend_trial(target, action.trial_end, actor=actor, reason=reason)
        case Kind.goodwill_credit:
            return await goodwill_credit(target, action.amount, actor=actor, reason=reason)
        case Kind.refund:
            return await refund(means, target, action.amount, actor=actor, reason=reason)


# --- the actions --------------------------------------------------------------------------------------------


async def _invoice_name(invoice_id: int) -> str:
    row = await Invoice.select(Invoice.number).where(Invoice.id == invoice_id).first()
    return str(row["number"]) if row and row["number"] else f"#{invoice_id}"


async def resend_receipt(means: Means, invoice_id: int) -> Done:
    mail = await mails.receipt_again(means.settings, invoice_id)
    await means.queue.enqueue("send_email", mail.to_job())
    return Done(
        summary=f"Resent the receipt of invoice {await _invoice_name(invoice_id)} to {mail.to}",
        message=f"The receipt is on its way to {mail.to}.",
        audit_action="billing.receipt_resent", target_type="invoice", target_id=invoice_id, after={"to": mail.to},
    )  # fmt: skip


async def retry_payment(means: Means, invoice_id: int, *, actor: str) -> Done:
    """The collection's next attempt, now: the customer's saved method is charged for what the invoice owes."""
    charger = InvoiceCharger(means.gateway, means.settings.billing, actor=actor)
    attempt = await charger.retry_now(invoice_id)
    payment, name = attempt.payment, await _invoice_name(invoice_id)
    after = {"payment_id": payment.payment_id if payment else None, "status": payment.status if payment else "",
             "failure": attempt.failure}  # fmt: skip
    ok = True
    if payment is not None and payment.status == Payment.Status.succeeded:
        outcome = f"paid (payment #{payment.payment_id})"
        message = f"Invoice #{invoice_id} is paid (payment #{payment.payment_id})."
    elif attempt.failure:
        ok = False
        then = f"the next attempt is {when(attempt.next_attempt_at)}" if attempt.next_attempt_at else (
            "that was the last attempt: dunning's final action applies")  # fmt: skip
        outcome = f"the charge failed ({attempt.failure}); {then}"
        message = f"The charge failed: {attempt.failure}. It counts as a failed attempt; {then}."
    else:
        assert payment is not None  # noqa: S101 - no failure means PayPal was asked
        outcome = f"payment #{payment.payment_id} is {payment.status} at PayPal"
        message = f"{outcome.capitalize()}: its answer is awaited and recorded when it comes."
    return Done(f"Retried the payment of invoice {name}: {outcome}", message, "billing.payment_retried", "invoice",
                invoice_id, after, ok=ok)  # fmt: skip


async def pause(subscription_id: int, *, actor: str, reason: str) -> Done:
    await subscriptions.pause(subscription_id, actor=actor, reason=reason or PAUSED_BY_STAFF)
    return Done(
        f"Paused subscription #{subscription_id}",
        f"Subscription #{subscription_id} is paused: no access and no bills until it is resumed.",
        "subscription.pause", "subscription", subscription_id, {"reason": reason},
    )  # fmt: skip


async def resume(subscription_id: int, *, actor: str, reason: str) -> Done:
    await subscriptions.resume(subscription_id, actor=actor)
    ends = when((await subscriptions.load(subscription_id))["current_period_end"])
    return Done(
        f"Resumed subscription #{subscription_id}; its period now ends {ends}",
        f"Subscription #{subscription_id} is active again; its period now ends {ends}.",
        "subscription.resume", "subscription", subscription_id, {"reason": reason},
    )  # fmt: skip


async def extend_trial(subscription_id: int, trial_end: datetime, *, actor: str, reason: str) -> Done:
    before = (await subscriptions.load(subscription_id))["trial_end"]
    new_end = await subscriptions.extend_trial(subscription_id, trial_end, actor=actor, reason=reason)
    return Done(
        f"Extended the trial of subscription #{subscription_id} to {when(new_end)}",
        f"Subscription #{subscription_id}'s trial now ends {when(new_end)}; the first bill follows then.",
        "subscription.trial_extended", "subscription", subscription_id, {"trial_end": new_end, "reason": reason},
        before={"trial_end": before},
    )  # fmt: skip


async def goodwill_credit(invoice_id: int, amount: Money | None, *, actor: str, reason: str) -> Done:
    """A credit note that lowers what an open invoice owes (all of it when ``amount`` is None), without a refund."""
    credit = await adjustments.goodwill_credit(invoice_id, amount, actor=actor, reason=reason)
    left = "nothing is left to pay: it is paid" if credit.settled else f"{credit.still_due.format()} is still due"
    return Done(
        f"Credited {credit.credited.format()} on invoice {credit.invoice_number} (credit note "
        f"{credit.credit_note_number}); {left}",
        f"Credit note {credit.credit_note_number} takes {credit.credited.format()} off invoice "
        f"{credit.invoice_number}; {left}.",
        "billing.goodwill_credit", "invoice", invoice_id,
        {"credit_note": credit.credit_note_number, "amount_minor": credit.credited.amount_minor,
         "currency": credit.credited.currency, "reason": reason, "settled": credit.settled},
    )  # fmt: skip


async def refund(means: Means, payment_id: int, amount: Money | None, *, actor: str, reason: str) -> Done:
    """Give back ``amount`` (all that is left when None) of a succeeded payment through PayPal; the credit note
    follows the ``payment.refunded`` event."""
    outcome = await refunds.refund(means.gateway, payment_id, amount, actor=actor, reason=reason)
    row = await Refund.select(Refund.amount_minor, Refund.currency).where(Refund.id == outcome.refund_id).first()
    assert row is not None  # noqa: S101 - refunds.refund just wrote it
    given = Money(row["amount_minor"], row["currency"]).format()
    after = {"payment_id": payment_id, "amount": given, "status": outcome.status}
    if outcome.status == Refund.Status.failed:
        said = outcome.failure_message or outcome.failure_code
        summary = f"The refund of {given} of payment #{payment_id} failed: PayPal said {said}"
        message = f"PayPal refused the refund: {said}."
    else:
        summary = (
            f"Refunded {given} of payment #{payment_id}"
            if outcome.status == Refund.Status.succeeded
            else f"Refund of {given} of payment #{payment_id} asked of PayPal (its answer is awaited)"
        )
        message = f"Refund #{outcome.refund_id} is {outcome.status}; its credit note follows within seconds."
    return Done(summary, message, "billing.refund_requested", "refund", outcome.refund_id, after,
                ok=outcome.status != Refund.Status.failed)  # fmt: skip
