"""Plan changes: the preview and the invoice are the same numbers; the plan changes only once that invoice is
paid; downgrades wait for the renewal at the period end; interval changes re-anchor."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from app import clock
from app.billing import service as invoices
from app.billing.renewals import generate_renewals
from app.errors import Conflict
from app.subscriptions import changes
from tables.billing import Invoice, InvoiceLine
from tables.subscriptions import Subscription, SubscriptionEvent
from tests import factories

APR1 = datetime(2026, 4, 1, tzinfo=UTC)
APR16 = datetime(2026, 4, 16, tzinfo=UTC)
MAY1 = datetime(2026, 5, 1, tzinfo=UTC)


async def on_basic() -> tuple[Subscription, int, int, int]:
    basic = await factories.plan(amount_minor=1000, interval="month", name="Basic")
    pro = await factories.plan(amount_minor=3000, interval="month", name="Pro")
    yearly = await factories.plan(amount_minor=10000, interval="year", name="Basic yearly")
    sub = await factories.subscription(plan=basic.id, current_period_start=APR1, current_period_end=MAY1,
                                       billing_anchor=APR1)  # fmt: skip
    await factories.paid_period(sub)  # April was paid: the credit for its unused time has money behind it
    return sub, basic.id, pro.id, yearly.id


async def stored(subscription_id: int) -> dict:  # type: ignore[type-arg]
    row = await Subscription.select().where(Subscription.id == subscription_id).first()
    assert row is not None
    return row


async def test_upgrade_bills_the_previewed_proration_and_applies_once_paid() -> None:
    sub, basic, pro, _ = await on_basic()
    preview = await changes.preview_plan_change(sub.id, pro, at=APR16)
    assert (preview.due_now_minor, preview.next_bill_minor, preview.next_bill_at) == (1000, 3000, MAY1)

    started = await changes.change_plan(sub.id, pro, actor="customer:1", at=APR16)
    assert started.invoice is not None
    assert not started.applied
    lines = await InvoiceLine.select().where(InvoiceLine.invoice == started.invoice.id).order_by(InvoiceLine.id)
    assert [(ln["kind"], ln["amount_minor"], ln["description"]) for ln in lines] == [
        (line.kind, line.amount_minor, line.description) for line in preview.lines
    ]
    assert started.invoice.total_minor == preview.due_now_minor == 1000
    assert (await stored(sub.id))["plan"] == basic  # not before the money is in

    with pytest.raises(Conflict):
        await changes.complete_plan_change(started.invoice.id, actor="payments")
    await invoices.mark_paid(started.invoice.id, actor="payments", at=APR16)
    await changes.complete_plan_change(started.invoice.id, actor="payments")
    after = await stored(sub.id)
    assert (after["plan"], after["billing_anchor"], after["current_period_end"]) == (pro, APR1, MAY1)

    with clock.frozen_at(MAY1):
        await generate_renewals()
    renewal = await Invoice.select(Invoice.total_minor).where(Invoice.period_start == MAY1)
    assert renewal == [{"total_minor": 3000}]


async def test_downgrade_is_scheduled_and_billed_from_the_period_end() -> None:
    sub, _, pro, _ = await on_basic()
    await Subscription.update({Subscription.plan: pro}).where(Subscription.id == sub.id)
    basic = (await factories.plan(amount_minor=1000, interval="month")).id
    started = await changes.change_plan(sub.id, basic, actor="customer:1", at=APR16)
    assert (started.invoice, started.applied, started.change.effective_at) == (None, True, MAY1)
    assert (await stored(sub.id))["pending_plan"] == basic
    assert await Invoice.count().where(Invoice.billing_reason != "subscription_cycle") == 0
    with clock.frozen_at(MAY1):
        await generate_renewals()
    after = await stored(sub.id)
    assert (after["plan"], after["pending_plan"]) == (basic, None)
    renewal = await Invoice.select(Invoice.total_minor).where(Invoice.period_start == MAY1)
    assert renewal == [{"total_minor": 1000}]


async def test_a_scheduled_downgrade_can_be_taken_back() -> None:
    sub, _, pro, _ = await on_basic()
    await Subscription.update({Subscription.plan: pro}).where(Subscription.id == sub.id)
    cheaper = (await factories.plan(amount_minor=500, interval="month")).id
    await changes.change_plan(sub.id, cheaper, actor="customer:1", at=APR16)
    with clock.frozen_at(APR16):
        await changes.cancel_scheduled_change(sub.id, actor="customer:1")
    assert (await stored(sub.id))["pending_plan"] is None
    with pytest.raises(Conflict):
        await changes.cancel_scheduled_change(sub.id, actor="customer:1")


async def test_monthly_to_yearly_re_anchors_billing_at_the_change() -> None:
    sub, _, _, yearly = await on_basic()
    started = await changes.change_plan(sub.id, yearly, actor="customer:1", at=APR16)
    assert started.invoice is not None
    assert started.invoice.total_minor == 9500  # 10,000 for the year from now, less 500 unused on Basic
    await invoices.mark_paid(started.invoice.id, actor="payments", at=APR16)
    await changes.complete_plan_change(started.invoice.id, actor="payments")
    after = await stored(sub.id)
    assert (after["plan"], after["billing_anchor"], after["current_period_start"], after["current_period_end"]) == (
        yearly, APR16, APR16, datetime(2027, 4, 16, tzinfo=UTC)
    )  # fmt: skip
    with clock.frozen_at(datetime(2027, 4, 15, tzinfo=UTC)):
        assert (await generate_renewals()).renewed == 0


async def test_a_double_click_does_not_bill_the_change_twice() -> None:
    sub, _, pro, _ = await on_basic()
    outcomes = await asyncio.gather(
        *(changes.change_plan(sub.id, pro, actor="customer:1", at=APR16) for _ in range(3)), return_exceptions=True
    )
    started = [o for o in outcomes if isinstance(o, changes.PlanChangeStarted)]
    refused = [o for o in outcomes if isinstance(o, Conflict)]
    assert (len(started), len(refused)) == (1, 2)
    assert {r.code for r in refused} == {"plan_change_pending"}
    assert await Invoice.count().where(Invoice.billing_reason == "subscription_update") == 1
    assert started[0].invoice is not None
    await invoices.mark_paid(started[0].invoice.id, actor="payments", at=APR16)
    await changes.complete_plan_change(started[0].invoice.id, actor="payments")
    await changes.complete_plan_change(started[0].invoice.id, actor="payments")  # a repeat is harmless
    assert await SubscriptionEvent.count().where(SubscriptionEvent.event == "plan_change") == 1
