"""Invoices as the customer reads them: the list with its payment history, one invoice in detail (lines,
payments, refunds, credit notes) and the same data for its PDF. Only the owner sees an invoice; anybody else
gets NotFound, so the existence of other customers' invoices is not revealed. Drafts are never shown.

Which payments and refunds a customer sees, and in which words, is decided once in ``app.payments.customer``:
the history, the invoice page and the PDF all read them through ``customer_payments`` and ``customer_refunds``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from piccolo.custom_types import Combinable

from app import clock
from app.errors import NotFound
from app.payments import customer
from app.payments.service import still_due
from tables.billing import CreditNote, Invoice, InvoiceLine
from tables.payments import Payment, Refund

SHOWN = [Invoice.Status.open, Invoice.Status.paid, Invoice.Status.void, Invoice.Status.uncollectible]


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One money movement on the customer's account: a payment attempt, a refund or a credit note."""

    at: datetime
    kind: str  # "payment", "refund", "credit_note"
    invoice_id: int
    invoice_number: str
    amount_minor: int
    currency: str
    status: str
    detail: str


@dataclass(frozen=True, slots=True)
class CustomerPayment:
    """A payment as its customer sees it: ``note`` is in their words (PayPal's stay on the staff record)."""

    id: int
    at: datetime
    invoice_id: int
    invoice_number: str
    amount_minor: int
    currency: str
    status: str
    method: str  # the masked PayPal account, or "PayPal"
    note: str
    amount_refunded_minor: int


@dataclass(frozen=True, slots=True)
class InvoiceDetail:
    invoice: dict[str, Any]
    lines: list[dict[str, Any]]
    payments: list[CustomerPayment]
    refunds: list[dict[str, Any]]
    credit_notes: list[dict[str, Any]]

    @property
    def amount_due_minor(self) -> int:
        return still_due(self.invoice, self.credited_minor)

    @property
    def credited_minor(self) -> int:
        return sum(int(note["amount_minor"]) for note in self.credit_notes)


def _utc(row: dict[str, Any], *columns: str) -> dict[str, Any]:
    for column in columns:
        if row.get(column) is not None:
            row[column] = clock.as_utc(row[column])
    return row


async def list_invoices(customer_id: int) -> list[dict[str, Any]]:
    rows = (
        await Invoice.select(
            Invoice.id,
            Invoice.number,
            Invoice.status,
            Invoice.billing_reason,
            Invoice.total_minor,
            Invoice.amount_paid_minor,
            Invoice.currency,
            Invoice.finalized_at,
            Invoice.paid_at,
        )
        .where(Invoice.customer == customer_id, Invoice.status.is_in(SHOWN))
        .order_by(Invoice.id, ascending=False)
    )
    credited: dict[int, int] = {}
    for note in await CreditNote.select(CreditNote.invoice, CreditNote.amount_minor).where(
        CreditNote.invoice.customer == customer_id
    ):
        credited[note["invoice"]] = credited.get(note["invoice"], 0) + note["amount_minor"]
    return [
        _utc({**r, "amount_due_minor": still_due(r, credited.get(r["id"], 0))}, "finalized_at", "paid_at") for r in rows
    ]


async def customer_payments(where: Combinable) -> list[CustomerPayment]:
    """The payments (of ``where``: a customer's, an invoice's) that their customer sees, oldest first."""
    rows = await Payment.select(
        Payment.id, Payment.created_at, Payment.invoice, Payment.invoice.number.as_alias("number"),
        Payment.amount_minor, Payment.currency, Payment.status, Payment.failure_category, Payment.failure_code,
        Payment.amount_refunded_minor, Payment.payment_method.label.as_alias("method"),
    ).where(where, customer.shown_payments()).order_by(Payment.id)  # fmt: skip
    return [
        CustomerPayment(
            p["id"], clock.as_utc(p["created_at"]), p["invoice"], p["number"] or "", p["amount_minor"], p["currency"],
            p["status"], p["method"] or "PayPal", customer.payment_note(p["status"], p["failure_category"],
            p["failure_code"]), p["amount_refunded_minor"],
        )
        for p in rows
    ]  # fmt: skip


async def customer_refunds(where: Combinable) -> list[dict[str, Any]]:
    """The refunds (of ``where``) that their customer sees, oldest first."""
    rows = await Refund.select(
        Refund.id, Refund.created_at, Refund.payment.invoice.as_alias("invoice"),
        Refund.payment.invoice.number.as_alias("number"),  # type: ignore[union-attr]
        Refund.amount_minor, Refund.currency, Refund.status, Refund.reason,
    ).where(where, customer.shown_refunds()).order_by(Refund.id)  # fmt: skip
    return [_utc(dict(r), "created_at") for r in rows]


async def history(customer_id: int) -> list[HistoryEntry]:
    """Payments, refunds and credit notes of the customer's invoices, newest first."""
    payments = await customer_payments(Payment.customer == customer_id)
    refunds = await customer_refunds(Refund.payment.customer == customer_id)
    notes = await CreditNote.select(
        CreditNote.created_at, CreditNote.invoice, CreditNote.invoice.number.as_alias("invoice_number"),
        CreditNote.number, CreditNote.amount_minor, CreditNote.currency, CreditNote.reason,
    ).where(CreditNote.invoice.customer == customer_id)  # fmt: skip
    entries = [
        HistoryEntry(p.at, "payment", p.invoice_id, p.invoice_number, p.amount_minor, p.currency, p.status,
                     p.note or p.method)
        for p in payments
    ] + [
        HistoryEntry(r["created_at"], "refund", r["invoice"], r["number"] or "", r["amount_minor"], r["currency"],
                     r["status"], r["reason"])
        for r in refunds
    ] + [
        HistoryEntry(clock.as_utc(n["created_at"]), "credit_note", n["invoice"], n["invoice_number"] or "",
                     n["amount_minor"], n["currency"], n["number"], n["reason"])
        for n in notes
    ]  # fmt: skip
    return sorted(entries, key=lambda e: e.at, reverse=True)


async def invoice_detail(customer_id: int, invoice_id: int) -> InvoiceDetail:
    invoice = (
        await Invoice.select()
        .where(Invoice.id == invoice_id, Invoice.customer == customer_id, Invoice.status.is_in(SHOWN))
        .output(load_json=True)
        .first()
    )
    if invoice is None:
        raise NotFound("There is no such invoice.", code="invoice_not_found")
    lines = await InvoiceLine.select().where(InvoiceLine.invoice == invoice_id).order_by(InvoiceLine.id)
    notes = await CreditNote.select().where(CreditNote.invoice == invoice_id).order_by(CreditNote.id)
    return InvoiceDetail(
        _utc(dict(invoice), "finalized_at", "paid_at", "voided_at", "period_start", "period_end", "due_at"),
        [_utc(dict(r), "period_start", "period_end") for r in lines],
        await customer_payments(Payment.invoice == invoice_id),
        await customer_refunds(Refund.payment.invoice == invoice_id),
        [_utc(dict(r), "created_at") for r in notes],
    )
