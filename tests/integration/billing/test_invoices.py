"""Invoices on PostgreSQL: drafts, finalization (gapless numbers, totals, snapshot), immutability, the
lifecycle with its event rows, and credit notes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from app.billing import service
from app.billing.errors import (
    ConcurrentChange,
    CreditExceedsInvoice,
    IllegalTransition,
    InvoiceEmpty,
    InvoiceFinalized,
)
from app.billing.lines import LineDraft, LineKind
from app.billing.states import Event
from tables.billing import CreditNote, Invoice, InvoiceEvent, InvoiceLine, NumberSequence
from tables.outbox import OutboxEvent
from tests import factories

AT = datetime(2026, 6, 1, 12, tzinfo=UTC)


def line(amount: int, kind: LineKind = LineKind.subscription) -> LineDraft:
    return LineDraft(
        kind=kind, description=f"line {amount}", amount_minor=amount, unit_amount_minor=amount, currency="USD"
    )


async def draft(*amounts: int, customer_id: int | None = None) -> int:
    customer_id = customer_id or (await factories.customer()).id
    return await service.create_draft(customer_id, "USD", [line(a) for a in amounts])


async def test_finalize_numbers_totals_and_snapshots() -> None:
    customer = await factories.customer(name="Ada Lovelace", address_line1="12 St James's Sq", city="London",
                                        postal_code="SW1Y 4JH", country="GB")  # fmt: skip
    invoice_id = await service.create_draft(customer.id, "USD", [line(3000), line(-500, LineKind.proration_credit)])
    finalized = await service.finalize(invoice_id, actor="staff:1", at=AT)
    assert (finalized.number, finalized.total_minor, finalized.status) == ("INV-2026-000001", 2500, "open")

    row = await Invoice.select().where(Invoice.id == invoice_id).output(load_json=True).first()
    assert row is not None
    assert (row["status"], row["number"], row["total_minor"], row["finalized_at"]) == (
        "open",
        "INV-2026-000001",
        2500,
        AT,
    )
    assert row["next_payment_attempt_at"] == AT
    assert row["customer_snapshot"]["name"] == "Ada Lovelace"
    assert row["customer_snapshot"]["city"] == "London"

    # The snapshot does not follow later changes to the customer.
    await customer.update_self({"name": "Ada King"})
    again = await Invoice.select(Invoice.customer_snapshot).where(Invoice.id == invoice_id).output(load_json=True)
    assert again[0]["customer_snapshot"]["name"] == "Ada Lovelace"

    events = await InvoiceEvent.select().where(InvoiceEvent.invoice == invoice_id)
    assert [(e["event"], e["from_status"], e["to_status"], e["actor"]) for e in events] == [
        ("finalize", "draft", "open", "staff:1")
    ]
    outbox = await OutboxEvent.select().where(OutboxEvent.aggregate_id == str(invoice_id))
    assert [o["event_type"] for o in outbox] == ["invoice.finalize"]


async def test_numbers_are_gapless_per_series_and_year() -> None:
    ids = [await draft(100) for _ in range(3)]
    numbers = [
        (await service.finalize(ids[0], actor="t", at=datetime(2026, 12, 31, 23, 59, tzinfo=UTC))).number,
        (await service.finalize(ids[1], actor="t", at=datetime(2027, 1, 1, tzinfo=UTC))).number,
        (await service.finalize(ids[2], actor="t", at=datetime(2027, 1, 2, tzinfo=UTC))).number,
    ]
    assert numbers == ["INV-2026-000001", "INV-2027-000001", "INV-2027-000002"]
    note = await service.issue_credit_note(
        ids[2], 50, reason="goodwill", actor="t", at=datetime(2027, 1, 3, tzinfo=UTC)
    )
    assert note.number == "CN-2027-000001"


async def test_finalized_invoices_are_immutable() -> None:
    invoice_id = await draft(1000)
    await service.ensure_editable(invoice_id)  # a draft may be edited
    await service.add_lines(invoice_id, [line(200)])
    await service.finalize(invoice_id, actor="t", at=AT)
    with pytest.raises(InvoiceFinalized) as refused:
        await service.ensure_editable(invoice_id)
    assert refused.value.code == "invoice_finalized"
    with pytest.raises(InvoiceFinalized):
        await service.add_lines(invoice_id, [line(1)])
    with pytest.raises(IllegalTransition):
        await service.finalize(invoice_id, actor="t", at=AT)
    line_ids = [r["id"] for r in await InvoiceLine.select(InvoiceLine.id).where(InvoiceLine.invoice == invoice_id)]
    with pytest.raises(InvoiceFinalized):  # what the admin's pre_patch / pre_delete hooks call for a line
        await service.ensure_line_editable(line_ids[0])
    assert await InvoiceLine.count().where(InvoiceLine.invoice == invoice_id) == 2
    total = await Invoice.select(Invoice.total_minor).where(Invoice.id == invoice_id)
    assert total[0]["total_minor"] == 1200


async def test_an_empty_draft_is_not_finalized_and_takes_no_number() -> None:
    empty = await draft()
    with pytest.raises(InvoiceEmpty):
        await service.finalize(empty, actor="t", at=AT)
    assert (await service.finalize(await draft(5), actor="t", at=AT)).number == "INV-2026-000001"


async def test_a_zero_invoice_is_paid_on_finalization() -> None:
    invoice_id = await draft(500, -500)
    finalized = await service.finalize(invoice_id, actor="t", at=AT)
    assert finalized.status == "paid"
    row = await Invoice.select(Invoice.status, Invoice.paid_at, Invoice.next_payment_attempt_at).where(
        Invoice.id == invoice_id
    )
    assert row[0] == {"status": "paid", "paid_at": AT, "next_payment_attempt_at": None}


async def test_lifecycle_paid_void_uncollectible_with_event_rows() -> None:
    paid, voided, written_off = [await draft(100) for _ in range(3)]
    for invoice_id in (paid, voided, written_off):
        await service.finalize(invoice_id, actor="t", at=AT)
    await service.mark_paid(paid, actor="payments", at=AT)
    await service.void(voided, actor="staff:2", reason="duplicate", at=AT)
    await service.mark_uncollectible(written_off, actor="dunning", reason="retries exhausted", at=AT)
    rows = {r["id"]: r for r in await Invoice.select()}
    assert (rows[paid]["status"], rows[paid]["amount_paid_minor"], rows[paid]["paid_at"]) == ("paid", 100, AT)
    assert (rows[voided]["status"], rows[voided]["voided_at"]) == ("void", AT)
    assert rows[written_off]["status"] == "uncollectible"
    with pytest.raises(IllegalTransition):
        await service.void(paid, actor="t", reason="too late")
    await service.mark_paid(written_off, actor="payments", reason="late payment")  # Stripe allows it
    reasons = await InvoiceEvent.select(InvoiceEvent.event, InvoiceEvent.reason).where(InvoiceEvent.invoice == voided)
    assert reasons == [{"event": "finalize", "reason": ""}, {"event": "void", "reason": "duplicate"}]


async def test_credit_notes_never_exceed_the_invoice() -> None:
    invoice_id = await draft(1000)
    with pytest.raises(IllegalTransition):
        await service.issue_credit_note(invoice_id, 100, reason="draft", actor="t")
    await service.finalize(invoice_id, actor="t", at=AT)
    first = await service.issue_credit_note(invoice_id, 600, reason="partial refund", actor="t", at=AT)
    with pytest.raises(CreditExceedsInvoice) as refused:
        await service.issue_credit_note(invoice_id, 401, reason="too much", actor="t", at=AT)
    assert refused.value.extra == {"available_minor": 400}
    second = await service.issue_credit_note(invoice_id, 400, reason="rest", actor="t", at=AT)
    assert (first.number, second.number) == ("CN-2026-000001", "CN-2026-000002")
    assert await CreditNote.count() == 2


async def test_concurrent_finalizations_get_distinct_gapless_numbers() -> None:
    customer = await factories.customer()
    ids = [await draft(100, customer_id=customer.id) for _ in range(40)]
    results = await asyncio.gather(*(service.finalize(i, actor="t", at=AT) for i in ids))
    numbers = sorted(r.number for r in results)
    assert numbers == [f"INV-2026-{n:06d}" for n in range(1, 41)]
    stored = await Invoice.select(Invoice.number).where(Invoice.id.is_in(ids))
    assert sorted(r["number"] for r in stored) == numbers
    sequence = await NumberSequence.select(NumberSequence.last_value).where(NumberSequence.series == "INV")
    assert sequence[0]["last_value"] == 40


async def test_racing_finalizations_of_one_invoice_leave_no_gap() -> None:
    invoice_id = await draft(100)
    outcomes = await asyncio.gather(
        *(service.finalize(invoice_id, actor=f"w{n}", at=AT) for n in range(5)), return_exceptions=True
    )
    winners = [o for o in outcomes if isinstance(o, service.FinalizedInvoice)]
    assert len(winners) == 1
    assert all(isinstance(o, IllegalTransition | ConcurrentChange) for o in outcomes if o not in winners)
    # The losers' numbers went back with their rollbacks: the next invoice continues the series.
    assert winners[0].number == "INV-2026-000001"
    assert (await service.finalize(await draft(5), actor="t", at=AT)).number == "INV-2026-000002"
    assert await InvoiceEvent.count().where(InvoiceEvent.invoice == invoice_id) == 1


async def test_transition_refuses_and_writes_nothing() -> None:
    invoice_id = await draft(100)
    with pytest.raises(IllegalTransition):
        await service.transition(invoice_id, Event.pay, actor="t")
    assert await InvoiceEvent.count() == 0
    assert await OutboxEvent.count() == 0
