"""Invoices: drafts with lines, finalization (number, total, customer snapshot), the invoice lifecycle, and
credit notes. Finalized invoices are immutable; corrections are credit notes (DESIGN.md section 2)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from piccolo.columns import Column

from app import clock
from app.billing import states
from app.billing.errors import CreditExceedsInvoice, CurrencyMismatch, IllegalTransition, InvoiceEmpty, InvoiceFinalized
from app.billing.lines import LineDraft
from app.billing.numbering import Series, allocate, series_for
from app.billing.periods import Period
from app.db import is_postgres, write_transaction
from app.errors import NotFound
from app.money import format_money
from app.outbox.service import record
from app.payments.service import credited_minor
from app.statemachine import Move, Transition, insert_moved, write_transition, write_transitions
from tables.accounts import Customer
from tables.billing import CreditNote, Invoice, InvoiceEvent, InvoiceLine

SNAPSHOT_COLUMNS = ("name", "email", "country", "address_line1", "address_line2", "city", "postal_code", "region")


@dataclass(frozen=True, slots=True)
class FinalizedInvoice:
    id: int
    number: str
    total_minor: int
    currency: str
    status: str


@dataclass(frozen=True, slots=True)
class IssuedCreditNote:
    id: int
    number: str
    invoice_id: int
    amount_minor: int
    currency: str


def customer_snapshot(row: Mapping[str, Any]) -> dict[str, str]:
    """The customer as the invoice will show them forever, whatever they change later."""
    return {key: row[key] or "" for key in SNAPSHOT_COLUMNS}


def line_row(invoice_id: int, line: LineDraft) -> InvoiceLine:
    period = line.period
    return InvoiceLine(
        invoice=invoice_id,
        kind=line.kind,
        description=line.description,
        plan=line.plan_id,
        quantity=line.quantity,
        unit_amount_minor=line.unit_amount_minor,
        amount_minor=line.amount_minor,
        period_start=period.start if period else None,
        period_end=period.end if period else None,
    )


async def _invoice(invoice_id: int, *, lock: bool = False) -> dict[str, Any]:
    query = Invoice.select(
        Invoice.id, Invoice.status, Invoice.currency, Invoice.customer, Invoice.subscription, Invoice.total_minor
    ).where(Invoice.id == invoice_id)
    if lock and is_postgres():  # on SQLite, write_transaction() already holds the write lock
        query = query.lock_rows()
    rows = await query
    if not rows:
        raise NotFound(f"There is no invoice #{invoice_id}.")
    return dict(rows[0])


async def ensure_editable(invoice_id: int) -> None:
    """Refuse any change to a finalized invoice: the service's own guard, and the admin's pre-save hook."""
    invoice = await _invoice(invoice_id)
    if invoice["status"] != Invoice.Status.draft:
        raise InvoiceFinalized(f"Invoice #{invoice_id} is finalized; correct it with a credit note.")


async def ensure_line_editable(line_id: int) -> None:
    """The same guard for a single invoice line (the admin edits lines as rows of their own)."""
    row = await InvoiceLine.select(InvoiceLine.invoice).where(InvoiceLine.id == line_id).first()
    if row is None:
        raise NotFound(f"There is no invoice line #{line_id}.")
    await ensure_editable(row["invoice"])


async def create_draft(
    customer_id: int,
    currency: str,
    lines: Sequence[LineDraft] = (),
    *,
    subscription_id: int | None = None,
    billing_reason: Invoice.BillingReason = Invoice.BillingReason.manual,
    period: Period | None = None,
    payment_method_id: int | None = None,
) -> int:
    """A draft invoice with its lines; returns its id."""
    async with write_transaction():
        rows = await Invoice.insert(
            Invoice(
                customer=customer_id,
                subscription=subscription_id,
                currency=currency,
                billing_reason=billing_reason,
                period_start=period.start if period else None,
                period_end=period.end if period else None,
                payment_method=payment_method_id,
                created_at=clock.now(),
            )
        ).returning(Invoice.id)
        invoice_id = int(rows[0]["id"])
        await add_lines(invoice_id, lines)
    return invoice_id


async def add_lines(invoice_id: int, lines: Sequence[LineDraft]) -> None:
    """Add lines to a draft; a finalized invoice refuses them."""
    if not lines:
        return
    async with write_transaction():
        invoice = await _invoice(invoice_id, lock=True)
        if invoice["status"] != Invoice.Status.draft:
            raise InvoiceFinalized(f"Invoice #{invoice_id} is finalized; correct it with a credit note.")
        if any(line.currency != invoice["currency"] for line in lines):
            raise CurrencyMismatch(f"Invoice #{invoice_id} is in {invoice['currency']}.")
        await InvoiceLine.insert(*(line_row(invoice_id, line) for line in lines))


def _leaving_open(event: states.Event) -> dict[str, Any]:
    """Only open invoices are collected, so leaving ``open`` also clears the next payment attempt."""
    return {} if event is states.Event.finalize else {Invoice.next_payment_attempt_at._meta.name: None}


async def transition(
    invoice_id: int,
    event: states.Event,
    *,
    actor: str,
    reason: str = "",
    at: datetime | None = None,
    changes: Mapping[Column, Any] | None = None,
    payload: Mapping[str, Any] | None = None,
) -> Transition:
    """The one way an invoice changes status (see app.statemachine.write_transition)."""
    values: dict[Column, Any] = {Invoice._meta.get_column_by_name(c): v for c, v in _leaving_open(event).items()}
    values.update(changes or {})
    return await write_transition(
        states.MACHINE, Invoice, InvoiceEvent, invoice_id, event,
        actor=actor, at=at or clock.now(), reason=reason, changes=values, payload=payload,
    )  # fmt: skip


async def transitions(moves: Sequence[Move[states.Event]], *, actor: str) -> list[Transition]:
    """``transition`` for many invoices at once, set-based (app.statemachine.write_transitions)."""
    return await write_transitions(states.MACHINE, Invoice, InvoiceEvent, [_cleared(m) for m in moves], actor=actor)


async def insert_finalized(
    invoices: Iterable[tuple[Mapping[str, Any], Iterable[Move[states.Event]]]], *, actor: str
) -> list[int]:
    """New invoices written finalized, for a batch (the billing run): each one's columns as ``create_draft``
    takes them, and its ``finalizing`` moves on ``statemachine.NEW``. The rows, event rows and outbox events are
    those ``create_draft`` and ``finalize`` leave (app.statemachine.insert_moved); the lines are the caller's.
    Returns the ids, in order."""
    moved = ((values, map(_cleared, moves)) for values, moves in invoices)
    return await insert_moved(states.MACHINE, Invoice, InvoiceEvent, moved, actor=actor)


async def _write(move: Move[states.Event], *, actor: str) -> Transition:
    """One move through ``transition``: the single paths write the moves the batch writers take in bulk."""
    changes = {Invoice._meta.get_column_by_name(c): v for c, v in move.changes.items()}
    return await transition(
        move.row_id, move.event, actor=actor, at=move.at, reason=move.reason, changes=changes, payload=move.payload
    )


def _cleared(move: Move[states.Event]) -> Move[states.Event]:
    cleared = _leaving_open(move.event)
    return replace(move, changes=cleared | dict(move.changes)) if cleared else move


def finalizing(
    invoice_id: int, *, number: str, total_minor: int, snapshot: Mapping[str, Any], subscription_id: int | None,
    at: datetime, reason: str = "",
) -> list[Move[states.Event]]:  # fmt: skip
    """The moves that finalize a draft, whoever finalizes (``finalize``, the renewal run): open with its
    number, total and customer snapshot, due at once; with nothing to collect, paid at once as Stripe does."""
    changes = {
        "number": number, "total_minor": total_minor, "customer_snapshot": snapshot, "due_at": at,
        "next_payment_attempt_at": at if total_minor > 0 else None,
    }  # fmt: skip
    payload = {"number": number, "subscription": subscription_id}
    moves = [Move(invoice_id, states.Event.finalize, at, reason, changes, payload=payload)]
    if total_minor == 0:
        moves.append(Move(invoice_id, states.Event.pay, at, "nothing to collect", payload=payload))
    return moves


async def finalize(invoice_id: int, *, actor: str, at: datetime | None = None, reason: str = "") -> FinalizedInvoice:
    """Number the draft (gapless, in this transaction), fix its total from the lines, snapshot the customer
    and open it for payment. From here on the invoice is immutable."""
    at = at or clock.now()
    async with write_transaction():
        invoice = await _invoice(invoice_id, lock=True)
        states.MACHINE.target(invoice["status"], states.Event.finalize)  # refuse before taking a number
        amounts = await InvoiceLine.select(InvoiceLine.amount_minor).where(InvoiceLine.invoice == invoice_id)
        if not amounts:
            raise InvoiceEmpty(f"Invoice #{invoice_id} has no lines.")
        invoice_total = sum(row["amount_minor"] for row in amounts)
        customer = await Customer.select(
            *(Customer._meta.get_column_by_name(c) for c in SNAPSHOT_COLUMNS), Customer.is_test
        ).where(Customer.id == invoice["customer"])
        (number,) = await allocate(series_for(Series.invoice, is_test=customer[0]["is_test"]), at.year)
        for move in finalizing(
            invoice_id, number=number, total_minor=invoice_total, snapshot=customer_snapshot(customer[0]),
            subscription_id=invoice["subscription"], at=at, reason=reason,
        ):  # fmt: skip
            await _write(move, actor=actor)
    status = Invoice.Status.open if invoice_total > 0 else Invoice.Status.paid
    return FinalizedInvoice(invoice_id, number, invoice_total, invoice["currency"], status)


async def mark_paid(invoice_id: int, *, actor: str, at: datetime | None = None, reason: str = "") -> Transition:
    """What the invoice owed was collected (the payments service calls this after a succeeded charge), or
    credited away: paid is its total less the credit notes issued while it was unpaid."""
    invoice = await _invoice(invoice_id)
    owed = invoice["total_minor"] - await credited_minor(invoice_id)
    return await _write(paying(invoice_id, paid_minor=owed, at=at or clock.now(), reason=reason), actor=actor)


def paying(invoice_id: int, *, paid_minor: int, at: datetime, reason: str = "") -> Move[states.Event]:
    """The move that marks an invoice paid, whoever collected it (``mark_paid``, the batch charger)."""
    return Move(invoice_id, states.Event.pay, at, reason, {"amount_paid_minor": paid_minor})


async def void(invoice_id: int, *, actor: str, reason: str, at: datetime | None = None) -> Transition:
    return await transition(invoice_id, states.Event.void, actor=actor, at=at, reason=reason)


async def mark_uncollectible(invoice_id: int, *, actor: str, reason: str, at: datetime | None = None) -> Transition:
    return await transition(invoice_id, states.Event.mark_uncollectible, actor=actor, at=at, reason=reason)


async def issue_credit_note(
    invoice_id: int, amount_minor: int, *, reason: str, actor: str, at: datetime | None = None
) -> IssuedCreditNote:
    """Credit part or all of a finalized invoice under its own gapless series; credits never exceed the total."""
    at = at or clock.now()
    async with write_transaction():
        invoice = await _invoice(invoice_id, lock=True)  # serialises credit notes on the same invoice
        if invoice["status"] in (Invoice.Status.draft, Invoice.Status.void):
            raise IllegalTransition(f"A {invoice['status']} invoice cannot be credited.")
        available = invoice["total_minor"] - await credited_minor(invoice_id)
        if amount_minor <= 0 or amount_minor > available:
            raise CreditExceedsInvoice(
                f"Invoice #{invoice_id} can be credited at most {format_money(available, invoice['currency'])} more.",
                extra={"available_minor": available},
            )
        test = await Customer.select(Customer.is_test).where(Customer.id == invoice["customer"]).first()
        (number,) = await allocate(series_for(Series.credit_note, is_test=bool(test and test["is_test"])), at.year)
        rows = await CreditNote.insert(
            CreditNote(
                invoice=invoice_id,
                number=number,
                amount_minor=amount_minor,
                currency=invoice["currency"],
                reason=reason,
                created_at=at,
            )
        ).returning(CreditNote.id)
        note_id = int(rows[0]["id"])
        await record(
            "credit_note.issued",
            "invoice",
            invoice_id,
            {"credit_note": note_id, "number": number, "amount_minor": amount_minor, "actor": actor, "reason": reason},
        )
    return IssuedCreditNote(note_id, number, invoice_id, amount_minor, invoice["currency"])
