"""Test clocks hold test data only: their customers are made on them as test customers, number their invoices in
a series of their own, and go, with everything they own, when the clock is deleted; real customers and the
live series are never touched."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from litestar import Litestar

from app import clock
from app.billing import service as invoices
from app.billing.errors import NotATestCustomer
from app.billing.events import credit_refund
from app.billing.lines import subscription_line
from app.billing.periods import Interval, Period, boundary
from app.billing.testclocks import create_test_clock, create_test_customer, delete_test_clock
from app.billing.timetravel import advance_and_run
from app.payments import refunds
from app.payments.paypal import PayPalGateway
from app.subscriptions import service
from tables.accounts import Customer
from tables.billing import BillingNotice, CreditNote, Invoice, InvoiceEvent, InvoiceLine
from tables.clocks import TestClock
from tables.payments import Payment, PaymentEvent, PaymentMethod, Refund
from tables.subscriptions import Subscription, SubscriptionEvent
from tests import factories
from tests.integration.billing.conftest import Vaulted
from tests.integration.staff import staff_session
from tests.paypal import SandboxControl

T0 = datetime(2027, 3, 1, 9, tzinfo=UTC)  # a clock may run ahead of real time: its numbers must not
MONTH = Interval.of("month")
FORMS = "/admin/api/forms/"


async def a_year_of_data_on_a_clock(job_ctx: dict[str, Any], vaulted: Vaulted, gateway: PayPalGateway) -> int:
    """A test clock whose customer's trial ended and renewed twice (charged, reminded), and one payment refunded."""
    test_clock = await create_test_clock("doomed", T0)
    customer_id = await create_test_customer(test_clock.id, email="tess@example.com", name="Tess")
    method = await vaulted(customer_id, "tess@example.com")
    plan = await factories.plan(name="Gold", amount_minor=2500, interval="month")
    end = boundary(T0, MONTH, 1)
    await factories.subscription(customer=customer_id, plan=plan.id, payment_method=method.id, status="trialing",
                                 trial_end=end, current_period_start=T0, current_period_end=end,
                                 billing_anchor=end)  # fmt: skip
    run = await advance_and_run(test_clock.id, boundary(T0, MONTH, 2), actor="staff:1",
                                charge=job_ctx["charge_invoice"], policy=job_ctx["settings"].billing)  # fmt: skip
    assert run.total("renewed") == 2
    payment = await Payment.select(Payment.id).where(Payment.status == "succeeded").first()
    assert payment is not None
    outcome = await refunds.refund(gateway, payment["id"], None, actor="staff:1", reason="test")
    assert await credit_refund(outcome.refund_id) is not None
    return test_clock.id


async def test_deleting_a_test_clock_deletes_its_customers_and_all_they_own_and_nothing_else(
    job_ctx: dict[str, Any], sandbox: SandboxControl, vaulted: Vaulted, gateway: PayPalGateway
) -> None:
    real = await factories.customer(email="real@example.com")
    real_sub = await service.subscribe(real.id, (await factories.plan(amount_minor=900)).id, actor="customer")
    assert real_sub.invoice is not None
    clock_id = await a_year_of_data_on_a_clock(job_ctx, vaulted, gateway)
    test_numbers = await Invoice.select(Invoice.number).where(Invoice.customer != real.id).output(as_list=True)
    assert sorted(test_numbers) == ["TEST-INV-2027-000001", "TEST-INV-2027-000002"]
    [credit_note] = await CreditNote.select(CreditNote.number).output(as_list=True)
    assert credit_note.startswith("TEST-CN-")
    assert real_sub.invoice.number == f"INV-{clock.now().year}-000001"  # the live series: real time, gapless
    owned = (Subscription, SubscriptionEvent, BillingNotice, Invoice, InvoiceLine, InvoiceEvent, Payment,
             PaymentEvent, PaymentMethod, Refund, CreditNote)  # fmt: skip
    before = {table: await table.count() for table in owned}
    assert all(before.values()), before

    deleted = await delete_test_clock(clock_id)

    assert (deleted.name, deleted.customers) == ("doomed", 1)
    assert (deleted.rows["invoice"], deleted.rows["payment"], deleted.rows["refund"]) == (2, 2, 1)
    assert not await TestClock.exists()
    assert await Customer.select(Customer.email).output(as_list=True) == ["real@example.com"]
    after = {table: await table.count() for table in owned}
    # What is left is the real customer's: a subscription, its first invoice with its line and events.
    assert after == {Subscription: 1, SubscriptionEvent: 0, BillingNotice: 0, Invoice: 1, InvoiceLine: 1,
                     InvoiceEvent: 1, Payment: 0, PaymentEvent: 0, PaymentMethod: 0, Refund: 0,
                     CreditNote: 0}  # fmt: skip
    assert (await Invoice.select(Invoice.number).first()) == {"number": real_sub.invoice.number}


async def test_a_clock_with_a_real_customer_on_it_is_not_deleted() -> None:
    """The database never lets a real customer onto a clock; should one get there anyway, nothing is deleted."""
    test_clock = await create_test_clock("mixed", T0)
    tess = await factories.clock_customer(test_clock.id)
    real = await factories.customer()
    await Customer.raw("ALTER TABLE customer DISABLE TRIGGER customer_test_flag")
    try:
        await Customer.update({Customer.test_clock: test_clock.id}).where(Customer.id == real.id)
    finally:
        await Customer.raw("ALTER TABLE customer ENABLE TRIGGER customer_test_flag")
    with pytest.raises(NotATestCustomer, match="real customers"):
        await delete_test_clock(test_clock.id)
    assert await TestClock.exists().where(TestClock.id == test_clock.id)
    assert await Customer.count().where(Customer.id.is_in([tess.id, real.id])) == 2


async def test_staff_delete_a_test_clock_by_its_name(app: Litestar, client: httpx.AsyncClient) -> None:
    test_clock = await create_test_clock("demo", T0)
    customer_id = await create_test_customer(test_clock.id, email="tess@example.com", name="Tess")
    line = subscription_line(await service.plan_terms((await factories.plan()).id), Period(T0, boundary(T0, MONTH, 1)))
    await invoices.finalize(await invoices.create_draft(customer_id, "USD", [line]), actor="t", at=T0)
    form = {"test_clock_id": test_clock.id, "confirm_name": "demo"}
    async with staff_session(app, "support") as support:
        assert (await support.post(FORMS + "delete-a-test-clock/", json=form)).status_code == 403
    async with staff_session(app, "billing") as staff:
        mistyped = await staff.post(FORMS + "delete-a-test-clock/", json={**form, "confirm_name": "dem"})
        assert mistyped.status_code != 200
        assert "to confirm; nothing was deleted" in mistyped.text
        assert await Customer.exists().where(Customer.id == customer_id)
        deleted = await staff.post(FORMS + "delete-a-test-clock/", json=form)
    assert deleted.status_code == 200, deleted.text
    assert "1 customer, 1 invoice, 1 invoice_event, 1 invoice_line" in deleted.text
    assert not await Customer.exists() and not await TestClock.exists()
