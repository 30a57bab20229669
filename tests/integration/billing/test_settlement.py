"""What a recorded charge outcome does to invoices and subscriptions (the calls the payments service makes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app import clock
from app.billing.renewals import generate_renewals
from app.subscriptions import changes, service
from app.subscriptions.settlement import record_failed_charge, settle_paid_invoice
from tables.billing import Invoice
from tables.subscriptions import Subscription
from tests import factories

T0 = datetime(2026, 3, 1, tzinfo=UTC)


async def status(subscription_id: int) -> str:
    rows = await Subscription.select(Subscription.status, Subscription.plan).where(Subscription.id == subscription_id)
    return str(rows[0]["status"])


async def test_paying_the_first_invoice_activates_the_subscription() -> None:
    customer, plan = await factories.customer(), await factories.plan()
    subscribed = await service.subscribe(customer.id, plan.id, actor="customer:1", at=T0)
    assert subscribed.invoice is not None
    await settle_paid_invoice(subscribed.invoice.id, actor="payments", at=T0)
    assert await status(subscribed.subscription_id) == "active"


async def test_paying_a_plan_change_invoice_applies_the_change() -> None:
    basic = await factories.plan(amount_minor=1000)
    pro = await factories.plan(amount_minor=2000)
    period = {"current_period_start": T0, "current_period_end": T0 + timedelta(days=30), "billing_anchor": T0}
    sub = await factories.subscription(plan=basic.id, **period)
    started = await changes.change_plan(sub.id, pro.id, actor="customer:1", at=T0 + timedelta(days=15))
    assert started.invoice is not None
    await settle_paid_invoice(started.invoice.id, actor="payments")
    plan = await Subscription.select(Subscription.plan).where(Subscription.id == sub.id)
    assert plan[0]["plan"] == pro.id


async def test_a_failed_renewal_goes_past_due_and_paying_it_restores_active() -> None:
    sub = await factories.subscription(current_period_start=T0, current_period_end=T0 + timedelta(days=30),
                                       billing_anchor=T0)  # fmt: skip
    with clock.frozen_at(T0 + timedelta(days=30)):
        (invoice_id,) = (await generate_renewals()).invoice_ids
    retry_at = T0 + timedelta(days=31)
    await record_failed_charge(invoice_id, actor="payments", reason="INSTRUMENT_DECLINED", next_attempt_at=retry_at)
    assert await status(sub.id) == "past_due"
    row = await Invoice.select(Invoice.attempt_count, Invoice.next_payment_attempt_at).where(Invoice.id == invoice_id)
    assert row == [{"attempt_count": 1, "next_payment_attempt_at": retry_at}]
    await record_failed_charge(invoice_id, actor="payments", reason="again", next_attempt_at=None)
    assert await status(sub.id) == "past_due"  # still, and no second transition
    await settle_paid_invoice(invoice_id, actor="payments")
    assert await status(sub.id) == "active"
    paid = await Invoice.select(Invoice.status, Invoice.attempt_count, Invoice.next_payment_attempt_at)
    assert paid == [{"status": "paid", "attempt_count": 2, "next_payment_attempt_at": None}]
