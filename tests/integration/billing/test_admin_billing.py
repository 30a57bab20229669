"""Billing in the admin: finalized invoices and their lines refuse every edit (the reason shown), drafts
stay editable; the billing staff actions (test clocks, refunds) work through the forms, role-checked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from litestar import Litestar

from app.billing import service as invoices
from app.billing.lines import LineDraft
from tables.accounts import Customer
from tables.audit import AuditLog
from tables.billing import Invoice, InvoiceLine
from tables.clocks import TestClock
from tables.payments import Payment
from tables.subscriptions import Subscription
from tests import factories
from tests.integration.staff import staff_session, table

FORMS = "/admin/api/forms/"


async def a_draft_with_a_line() -> tuple[int, int]:
    customer = await factories.customer()
    line = LineDraft(kind=InvoiceLine.Kind.adjustment, description="Setup", quantity=1, unit_amount_minor=900,
                     amount_minor=900, currency="USD")  # fmt: skip
    invoice_id = await invoices.create_draft(customer.id, "USD", [line])
    [row] = await InvoiceLine.select(InvoiceLine.id).where(InvoiceLine.invoice == invoice_id)
    return invoice_id, row["id"]


async def test_finalized_invoices_and_lines_refuse_edits_drafts_do_not(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    draft_id, draft_line = await a_draft_with_a_line()
    final_id, final_line = await a_draft_with_a_line()
    await invoices.finalize(final_id, actor="test")
    async with staff_session(app, "billing") as staff:
        assert (await staff.patch(table("invoice", draft_id), json={"currency": "EUR"})).status_code == 200
        assert (
            await staff.patch(table("invoice_line", draft_line), json={"description": "Setup fee"})
        ).status_code == 200

        refused = [
            await staff.patch(table("invoice", final_id), json={"total_minor": 1}),
            await staff.delete(table("invoice", final_id)),
            await staff.patch(table("invoice_line", final_line), json={"amount_minor": 1}),
            await staff.delete(table("invoice_line", final_line)),
        ]
        blank = (await staff.get(table("invoice_line") + "new/")).json()
        line = {**blank, "invoice": final_id, "description": "x", "unit_amount_minor": 5, "amount_minor": 5}
        refused.append(await staff.post(table("invoice_line"), json=line))
    for response in refused:
        assert response.status_code == 409, response.text
        assert "finalized; correct it with a credit note" in response.text
    final = await Invoice.select(Invoice.total_minor, Invoice.status).where(Invoice.id == final_id).first()
    assert final == {"total_minor": 900, "status": "open"}
    assert await InvoiceLine.count().where(InvoiceLine.invoice == final_id) == 1
    assert (await Invoice.select(Invoice.currency).where(Invoice.id == draft_id).first()) == {"currency": "EUR"}
    assert not await AuditLog.exists().where(AuditLog.target_id == str(final_id), AuditLog.target_type == "invoice")


async def test_staff_create_a_test_clock_attach_a_customer_and_advance_it(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    start = datetime(2026, 5, 1, 12, tzinfo=UTC)
    customer = await factories.customer()
    sub = await factories.subscription(customer=customer.id, current_period_start=start - timedelta(days=30),
                                       current_period_end=start + timedelta(days=2), billing_anchor=start)  # fmt: skip
    async with staff_session(app, "billing") as staff:
        created = await staff.post(
            FORMS + "create-test-clock/",
            json={"name": "demo", "frozen_time": start.isoformat(), "customer_id": customer.id},
        )
        assert created.status_code == 200, created.text
        [clock] = await TestClock.select(TestClock.id)
        assert (await Customer.select(Customer.test_clock).where(Customer.id == customer.id).first()) == {
            "test_clock": clock["id"]
        }
        advanced = await staff.post(
            FORMS + "advance-a-test-clock/",
            json={"test_clock_id": clock["id"], "to": (start + timedelta(days=3)).isoformat()},
        )
        assert advanced.status_code == 200, advanced.text
        assert "1 renewed" in advanced.text
        backwards = await staff.post(FORMS + "advance-a-test-clock/", json={"test_clock_id": clock["id"],
                                                                            "to": start.isoformat()})  # fmt: skip
        assert backwards.status_code != 200
        assert "only moves on" in backwards.text
    # No saved method: the renewal's first attempt failed, the subscription is past due, dunning has begun.
    renewed = await Subscription.select(Subscription.status).where(Subscription.id == sub.id).first()
    assert renewed == {"status": "past_due"}
    assert await AuditLog.count().where(AuditLog.action.like("billing.test_clock_%")) == 2


async def test_refund_form_is_for_billing_staff_and_explains_refusals(app: Litestar, client: httpx.AsyncClient) -> None:
    invoice = await factories.invoice(status="open", total_minor=1000)
    rows = await Payment.insert(
        Payment(
            invoice=invoice.id,
            customer=invoice.customer,
            amount_minor=1000,
            currency="USD",
            status="declined",
            idempotency_key="declined-attempt",
        )
    ).returning(Payment.id)
    form = {"payment_id": rows[0]["id"], "amount": "4.00", "reason": "goodwill"}
    async with staff_session(app, "support") as support:
        assert (await support.post(FORMS + "refund-a-payment/", json=form)).status_code == 403
    async with staff_session(app, "billing") as billing:
        refused = await billing.post(FORMS + "refund-a-payment/", json=form)
    assert refused.status_code != 200
    assert "nothing to refund" in refused.text
