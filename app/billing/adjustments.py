"""Staff corrections of finalized invoices, through the invoice lifecycle and credit notes (DESIGN.md section 2):
void, mark uncollectible, and a goodwill credit without a refund (refunds are ``app.payments.refunds``).

- Nothing here changes an invoice while a payment of it holds its claim: PayPal may be moving money for it.
- Void: the invoice is cancelled as if never issued. When it was the renewal a past_due or unpaid subscription
  was behind on (and nothing else of it is open), the subscription is active again, as paying it would have made it.
- Mark uncollectible: the invoice is written off and collection stops; the subscription keeps its status
  (Stripe's semantics: dunning's final action decides about the subscription, not the write-off).
- Goodwill credit: a credit note on an open invoice lowers what it still owes (Stripe's pre-payment credit
  note); one that takes it to nothing settles it as a payment would (paid, and what paying means for its
  subscription). Not while a charge of it is due or under way: the charge was decided for the old amount.
  A paid invoice cannot be credited without a refund: the credit would have to become a customer credit
  balance that the next invoice uses, and Recurra keeps none (renewals are invoiced set-based by the billing
  run, not through ``finalize``, so a balance would have to be applied in two places). Refund instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app import clock
from app.billing import service as invoices
from app.billing import states
from app.billing.collection import LEASE
from app.billing.customer_time import customer_now
from app.billing.errors import IllegalTransition
from app.db import locked_row, write_transaction
from app.errors import Conflict, InvalidInput, NotFound
from app.money import Money
from app.payments.service import CLAIMED, InvoiceBusy, credited_minor, still_due
from app.subscriptions.settlement import forgive_voided_invoice, settle_paid_invoice
from tables.billing import Invoice
from tables.payments import Payment
from tables.subscriptions import Subscription


@dataclass(frozen=True, slots=True)
class ClosedInvoice:
    invoice_id: int
    number: str
    status: str  # void or uncollectible
    subscription_id: int | None
    subscription_status: str | None  # after the change
    forgiven: bool  # the subscription became active again


@dataclass(frozen=True, slots=True)
class GoodwillCredit:
    invoice_id: int
    invoice_number: str
    credit_note_number: str
    credited: Money
    still_due: Money
    settled: bool  # nothing was left to pay: the invoice is paid


def _name(invoice: dict[str, Any]) -> str:
    return str(invoice["number"] or f"#{invoice['id']}")


async def _locked(invoice_id: int) -> dict[str, Any]:
    """Inside the caller's transaction: the invoice, locked as every claim locks it, with no payment holding
    its claim (so none can start until this commits, and none is running now)."""
    invoice = await locked_row(Invoice, invoice_id)
    if invoice is None:
        raise NotFound(f"There is no invoice #{invoice_id}.", code="invoice_not_found")
    if await Payment.exists().where(Payment.invoice == invoice_id, Payment.status.is_in(list(CLAIMED))):
        raise InvoiceBusy(
            f"A payment of invoice {_name(invoice)} is under way at PayPal; try again once it is settled "
            "(its outcome is asked for again every minute)."
        )
    return invoice


async def void_invoice(invoice_id: int, *, actor: str, reason: str) -> ClosedInvoice:
    return await _close(invoice_id, void=True, actor=actor, reason=reason)


async def mark_uncollectible(invoice_id: int, *, actor: str, reason: str) -> ClosedInvoice:
    return await _close(invoice_id, void=False, actor=actor, reason=reason)


async def _close(invoice_id: int, *, void: bool, actor: str, reason: str) -> ClosedInvoice:
    async with write_transaction():
        invoice = await _locked(invoice_id)
        event = states.Event.void if void else states.Event.mark_uncollectible
        if event not in states.MACHINE.events_from(invoice["status"]):
            done = "voided" if void else "marked uncollectible"
            raise IllegalTransition(f"Invoice {_name(invoice)} is {invoice['status']}: it cannot be {done}.")
        at = await customer_now(invoice["customer"])
        close = invoices.void if void else invoices.mark_uncollectible
        await close(invoice_id, actor=actor, reason=reason, at=at)
        forgiven = void and await forgive_voided_invoice(
            invoice_id, actor=actor, reason=f"invoice {_name(invoice)} voided: {reason}", at=at
        )
        sub = (
            await Subscription.select(Subscription.status).where(Subscription.id == invoice["subscription"]).first()
            if invoice["subscription"] is not None
            else None
        )
    status = Invoice.Status.void if void else Invoice.Status.uncollectible
    return ClosedInvoice(
        invoice_id, _name(invoice), status, invoice["subscription"], sub["status"] if sub else None, forgiven
    )


async def goodwill_credit(invoice_id: int, amount: Money | None, *, actor: str, reason: str) -> GoodwillCredit:
    """Credit ``amount`` (None: all it still owes) of an open invoice without moving money."""
    async with write_transaction():
        invoice = await _locked(invoice_id)
        name, currency = _name(invoice), invoice["currency"]
        _refuse_unless_open(invoice)
        at = await customer_now(invoice["customer"])
        attempt = _attempt_at(invoice)
        if attempt is not None and attempt <= at + LEASE:
            raise Conflict(
                f"Invoice {name} is being charged or about to be (attempt due {attempt:%Y-%m-%d %H:%M} UTC): "
                "credit it once that attempt has failed, or refund it if it succeeded.",
                code="invoice_charge_due",
            )
        due = Money(still_due(invoice, await credited_minor(invoice_id)), currency)
        credit = amount or due
        if credit.currency != currency:
            raise InvalidInput(f"Invoice {name} is in {currency}.", code="currency_mismatch")
        if not 0 < credit.amount_minor <= due.amount_minor:
            raise InvalidInput(f"Invoice {name} still owes {due.format()}: credit at most that.", code="credit_too_big")
        note = await invoices.issue_credit_note(invoice_id, credit.amount_minor, reason=reason, actor=actor, at=at)
        left = due - credit
        if left.amount_minor == 0:  # nothing left to pay: settled as a payment would settle it
            await settle_paid_invoice(invoice_id, actor=actor, at=at)
    return GoodwillCredit(invoice_id, name, note.number, credit, left, left.amount_minor == 0)


def _attempt_at(invoice: dict[str, Any]) -> datetime | None:
    value = invoice["next_payment_attempt_at"]
    return clock.as_utc(value) if value is not None else None


def _refuse_unless_open(invoice: dict[str, Any]) -> None:
    name, status = _name(invoice), invoice["status"]
    if status == Invoice.Status.paid:
        raise Conflict(
            f"Invoice {name} is paid: a credit without a refund would have to be kept as a customer credit "
            "balance for the next invoice, and Recurra keeps none. Refund the payment (in part) instead.",
            code="credit_needs_balance",
        )
    if status == Invoice.Status.uncollectible:
        raise Conflict(f"Invoice {name} is written off: nothing is being collected. Void it instead.",
                       code="invoice_written_off")  # fmt: skip
    if status != Invoice.Status.open:
        raise IllegalTransition(f"Invoice {name} is {status}: there is nothing to credit.")
