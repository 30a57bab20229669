"""Renewal generation on PostgreSQL: invoices and periods right, changes applied at the period end's exact
instant, nothing for paused or ended subscriptions, catch-up, and concurrent runs billing each period once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from app import clock
from app.billing.renewals import generate_renewals
from tables.billing import Invoice, InvoiceEvent, InvoiceLine
from tables.outbox import OutboxEvent
from tables.subscriptions import Subscription, SubscriptionEvent
from tests import factories

JAN31 = datetime(2026, 1, 31, 10, tzinfo=UTC)
FEB28 = datetime(2026, 2, 28, 10, tzinfo=UTC)
MAR31 = datetime(2026, 3, 31, 10, tzinfo=UTC)
TICK = timedelta(microseconds=1)


async def monthly(amount: int = 1500, **overrides: Any) -> Subscription:
    plan = overrides.pop("plan", None) or (await factories.plan(amount_minor=amount, interval="month")).id
    values = {"current_period_start": JAN31, "current_period_end": FEB28, "billing_anchor": JAN31, **overrides}
    return await factories.subscription(plan=plan, **values)


async def stored(subscription_id: int) -> dict[str, Any]:
    row = await Subscription.select().where(Subscription.id == subscription_id).first()
    assert row is not None
    return row


async def invoices_of(subscription_id: int) -> list[dict[str, Any]]:
    return await Invoice.select().where(Invoice.subscription == subscription_id).order_by(Invoice.period_start)


async def test_a_due_subscription_gets_one_finalized_invoice_and_its_next_period() -> None:
    sub = await monthly(1500)
    with clock.frozen_at(FEB28 + timedelta(minutes=1)):
        result = await generate_renewals()
    (invoice,) = await invoices_of(sub.id)
    assert result.invoice_ids == [invoice["id"]]
    assert (result.renewed, result.ended) == (1, 0)
    assert (invoice["status"], invoice["number"], invoice["billing_reason"], invoice["total_minor"]) == (
        "open", "INV-2026-000001", "subscription_cycle", 1500
    )  # fmt: skip
    assert (invoice["period_start"], invoice["period_end"]) == (FEB28, MAR31)
    assert invoice["finalized_at"] == invoice["next_payment_attempt_at"] == FEB28 + timedelta(minutes=1)
    lines = await InvoiceLine.select().where(InvoiceLine.invoice == invoice["id"])
    assert [(ln["kind"], ln["amount_minor"], ln["period_start"], ln["period_end"]) for ln in lines] == [
        ("subscription", 1500, FEB28, MAR31)
    ]
    after = await stored(sub.id)
    assert (after["current_period_start"], after["current_period_end"], after["status"]) == (FEB28, MAR31, "active")
    events = await InvoiceEvent.select(InvoiceEvent.event, InvoiceEvent.to_status)
    assert events == [{"event": "finalize", "to_status": "open"}]
    assert [o["event_type"] for o in await OutboxEvent.select(OutboxEvent.event_type)] == ["invoice.finalize"]


async def test_nothing_happens_a_microsecond_before_the_period_end() -> None:
    sub = await monthly()
    with clock.frozen_at(FEB28 - TICK):
        assert (await generate_renewals()).renewed == 0
    assert await Invoice.count() == 0
    with clock.frozen_at(FEB28):  # half-open: the end instant already belongs to the next period
        assert (await generate_renewals()).renewed == 1
    assert (await stored(sub.id))["current_period_start"] == FEB28


async def test_trial_ends_at_its_instant_and_the_first_period_is_billed() -> None:
    sub = await monthly(900, status=Subscription.Status.trialing, trial_end=FEB28, billing_anchor=FEB28)
    with clock.frozen_at(FEB28 - TICK):
        await generate_renewals()
    assert (await stored(sub.id))["status"] == "trialing"
    with clock.frozen_at(FEB28):
        await generate_renewals()
    after = await stored(sub.id)
    assert (after["status"], after["current_period_end"]) == ("active", datetime(2026, 3, 28, 10, tzinfo=UTC))
    (invoice,) = await invoices_of(sub.id)
    assert invoice["total_minor"] == 900
    events = await SubscriptionEvent.select().where(SubscriptionEvent.subscription == sub.id)
    assert [(e["event"], e["from_status"], e["to_status"], e["occurred_at"]) for e in events] == [
        ("trial_end", "trialing", "active", FEB28)
    ]


async def test_a_scheduled_downgrade_applies_at_the_period_end() -> None:
    basic = await factories.plan(amount_minor=1000, interval="month")
    sub = await monthly(3000, pending_plan=basic.id)
    with clock.frozen_at(FEB28):
        await generate_renewals()
    after = await stored(sub.id)
    assert (after["plan"], after["pending_plan"]) == (basic.id, None)
    (invoice,) = await invoices_of(sub.id)
    assert invoice["total_minor"] == 1000
    events = await SubscriptionEvent.select().where(SubscriptionEvent.subscription == sub.id).output(load_json=True)
    assert [(e["event"], e["data"]["to_plan"]) for e in events] == [("plan_change", basic.id)]
    types = {o["event_type"] for o in await OutboxEvent.select(OutboxEvent.event_type)}
    assert types == {"invoice.finalize", "subscription.plan_change"}


async def test_cancel_at_period_end_ends_at_that_instant_without_an_invoice() -> None:
    sub = await monthly(cancel_at_period_end=True, cancel_reason="moving")
    with clock.frozen_at(FEB28 + timedelta(hours=3)):
        result = await generate_renewals()
    assert (result.renewed, result.ended, result.invoice_ids) == (0, 1, [])
    after = await stored(sub.id)
    assert (after["status"], after["ended_at"], after["canceled_at"]) == ("canceled", FEB28, FEB28)
    assert await Invoice.count() == 0
    with clock.frozen_at(MAR31 + timedelta(days=1)):
        assert (await generate_renewals()).ended == 0


async def test_paused_unpaid_canceled_and_incomplete_subscriptions_are_not_billed() -> None:
    for status in ("paused", "unpaid", "canceled", "incomplete", "incomplete_expired"):
        await monthly(status=status)
    past_due = await monthly(status="past_due")
    with clock.frozen_at(MAR31 + timedelta(days=1)):
        result = await generate_renewals()
    assert result.renewed == 2  # past_due keeps renewing (Stripe), twice to catch up to March 31
    assert {i["subscription"] for i in await Invoice.select(Invoice.subscription)} == {past_due.id}
    assert (await stored(past_due.id))["status"] == "past_due"


async def test_a_subscription_behind_by_several_periods_gets_one_invoice_each() -> None:
    sub = await monthly(1500)
    with clock.frozen_at(datetime(2026, 5, 31, 10, tzinfo=UTC)):
        result = await generate_renewals(batch_size=1)
    assert result.renewed == 4
    periods = [
        (i["period_start"].date().isoformat(), i["period_end"].date().isoformat()) for i in await invoices_of(sub.id)
    ]
    assert periods == [("2026-02-28", "2026-03-31"), ("2026-03-31", "2026-04-30"), ("2026-04-30", "2026-05-31"),
                       ("2026-05-31", "2026-06-30")]  # fmt: skip
    numbers = sorted(i["number"] for i in await Invoice.select(Invoice.number))
    assert numbers == [f"INV-2026-{n:06d}" for n in range(1, 5)]


async def test_a_free_plan_renews_with_a_paid_zero_invoice_and_nothing_to_charge() -> None:
    sub = await monthly(0)
    with clock.frozen_at(FEB28):
        result = await generate_renewals()
    assert result.invoice_ids == []
    (invoice,) = await invoices_of(sub.id)
    assert (invoice["status"], invoice["paid_at"], invoice["next_payment_attempt_at"]) == ("paid", FEB28, None)
    events = await InvoiceEvent.select(InvoiceEvent.event).order_by(InvoiceEvent.id)
    assert [e["event"] for e in events] == ["finalize", "pay"]


async def test_customers_on_a_test_clock_are_billed_by_its_time() -> None:
    ahead = await factories.test_clock(frozen_time=FEB28 + timedelta(days=1))
    behind = await factories.test_clock(frozen_time=FEB28 - timedelta(days=1))
    on_ahead = await monthly(customer=(await factories.clock_customer(ahead.id)).id)
    on_behind = await monthly(customer=(await factories.clock_customer(behind.id)).id)
    real = await monthly()
    with clock.frozen_at(FEB28 - timedelta(days=10)):  # real time: nobody is due
        result = await generate_renewals()
    assert result.renewed == 1
    (invoice,) = await invoices_of(on_ahead.id)
    assert invoice["finalized_at"] == FEB28 + timedelta(days=1)  # the clock's time, not the real one
    with clock.frozen_at(FEB28 + timedelta(days=5)):
        assert (await generate_renewals()).renewed == 1
    assert await invoices_of(real.id)
    assert not await invoices_of(on_behind.id)


async def test_only_one_test_clock_when_asked() -> None:
    frozen = await factories.test_clock(frozen_time=FEB28)
    on_clock = await monthly(customer=(await factories.clock_customer(frozen.id)).id)
    await monthly()
    with clock.frozen_at(MAR31 - timedelta(days=1)):
        result = await generate_renewals(test_clock_id=frozen.id)
    assert result.renewed == 1
    assert {i["subscription"] for i in await Invoice.select(Invoice.subscription)} == {on_clock.id}


async def test_two_concurrent_runs_produce_each_invoice_once_with_gapless_numbers() -> None:
    plan = await factories.plan(amount_minor=1000, interval="month")
    customer = await factories.customer()
    rows = [
        Subscription(customer=customer.id, plan=plan.id, status="active", current_period_start=JAN31,
                     current_period_end=FEB28, billing_anchor=JAN31)
        for _ in range(600)
    ]  # fmt: skip
    await Subscription.insert(*rows)
    with clock.frozen_at(FEB28 + timedelta(seconds=1)):
        first, second = await asyncio.gather(generate_renewals(batch_size=40), generate_renewals(batch_size=40))
    assert first.renewed > 0
    assert second.renewed > 0  # both really worked, on disjoint rows (SKIP LOCKED)
    assert first.renewed + second.renewed == 600
    assert not set(first.invoice_ids) & set(second.invoice_ids)
    invoices = await Invoice.select(Invoice.subscription, Invoice.number, Invoice.period_start)
    assert len(invoices) == 600
    assert len({i["subscription"] for i in invoices}) == 600
    assert sorted(i["number"] for i in invoices) == [f"INV-2026-{n:06d}" for n in range(1, 601)]
    assert await InvoiceLine.count() == 600
    assert await Subscription.count().where(Subscription.current_period_end == MAR31) == 600
