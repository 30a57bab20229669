"""Renewal generation on PostgreSQL: invoices and periods right, changes applied at the period end's exact
instant, nothing for paused or ended subscriptions, catch-up, concurrent runs billing each period once, and
every status change written through the machines, as the single paths write it."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app import clock
from app.billing import service as invoices
from app.billing import states as invoice_states
from app.billing.errors import IllegalTransition
from app.billing.lines import subscription_line
from app.billing.periods import Period
from app.billing.plans import plan_terms_by_id
from app.billing.renewals import ACTOR, generate_renewals
from app.outbox import service as outbox
from app.subscriptions import service as subscriptions
from app.subscriptions import states as subscription_states
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


@pytest.fixture(params=["machines as built", "machines that stamp nothing"])
def machines(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Twice: with the invoice and subscription machines as they are, and with machines whose transitions stamp
    no ``*_at`` column. A batch path that writes a transition by hand, not through its machine, keeps stamping
    in the second run while the single path does not."""
    if request.param == "machines that stamp nothing":
        monkeypatch.setattr(invoice_states, "MACHINE", replace(invoice_states.MACHINE, stamps={}))
        monkeypatch.setattr(subscription_states, "MACHINE", replace(subscription_states.MACHINE, stamps={}))
    return str(request.param)


async def invoice_record(invoice_id: int) -> dict[str, Any]:
    """An invoice as finalization leaves it: its row, lines, event rows and outbox events (without ids, and with
    its number and subscription only checked to be its own)."""
    invoice = await Invoice.select().where(Invoice.id == invoice_id).output(load_json=True).first()
    assert invoice is not None
    lines = await InvoiceLine.select(
        InvoiceLine.kind, InvoiceLine.description, InvoiceLine.plan, InvoiceLine.amount_minor,
        InvoiceLine.period_start, InvoiceLine.period_end,
    ).where(InvoiceLine.invoice == invoice_id)  # fmt: skip
    events = await InvoiceEvent.select(
        InvoiceEvent.event, InvoiceEvent.from_status, InvoiceEvent.to_status, InvoiceEvent.actor,
        InvoiceEvent.reason, InvoiceEvent.occurred_at,
    ).where(InvoiceEvent.invoice == invoice_id).order_by(InvoiceEvent.id)  # fmt: skip
    sent = await OutboxEvent.select(OutboxEvent.event_type, OutboxEvent.payload).where(
        (OutboxEvent.aggregate_type == "invoice") & (OutboxEvent.aggregate_id == str(invoice_id))
    ).order_by(OutboxEvent.id).output(load_json=True)  # fmt: skip
    for event in sent:
        event["payload"]["number"] = event["payload"].get("number") == invoice["number"]
        event["payload"]["subscription"] = event["payload"].get("subscription") == invoice["subscription"]
    kept = ("status", "billing_reason", "currency", "total_minor", "amount_paid_minor", "period_start", "period_end",
            "customer_snapshot", "customer", "attempt_count", "next_payment_attempt_at", "due_at", "finalized_at",
            "paid_at", "voided_at", "created_at")  # fmt: skip
    return {"invoice": {k: invoice[k] for k in kept}, "lines": lines, "events": events, "outbox": sent}


@pytest.mark.parametrize("amount", [1500, 0])
async def test_a_renewal_invoice_is_finalized_exactly_as_the_single_path_finalizes_one(
    machines: str, amount: int
) -> None:
    plan = await factories.plan(amount_minor=amount, interval="month")
    customer = await factories.customer(name="Ada Lovelace", city="London")
    renewing = await monthly(plan=plan.id, customer=customer.id)
    at = FEB28 + timedelta(minutes=1)
    with clock.frozen_at(at):
        await generate_renewals()
    (renewal,) = await invoices_of(renewing.id)

    # The same invoice through the single path: a draft with the renewal's line, finalized at the same instant.
    twin = await monthly(plan=plan.id, customer=customer.id, current_period_end=MAR31)
    period = Period(FEB28, MAR31)
    line = subscription_line((await plan_terms_by_id([plan.id]))[plan.id], period)
    with clock.frozen_at(at):
        draft = await invoices.create_draft(
            customer.id, "USD", [line], subscription_id=twin.id,
            billing_reason=Invoice.BillingReason.subscription_cycle, period=period,
        )  # fmt: skip
        await invoices.finalize(draft, actor=ACTOR, at=at, reason="renewal")

    expected = await invoice_record(draft)
    assert await invoice_record(renewal["id"]) == expected
    assert expected["invoice"]["status"] == ("open" if amount else "paid")
    assert [e["event"] for e in expected["events"]] == (["finalize"] if amount else ["finalize", "pay"])
    stamped = machines == "machines as built"
    assert (expected["invoice"]["finalized_at"], expected["invoice"]["paid_at"]) == (
        at if stamped else None, at if stamped and not amount else None
    )  # fmt: skip


async def subscription_record(subscription_id: int) -> dict[str, Any]:
    sub = await stored(subscription_id)
    events = await SubscriptionEvent.select(
        SubscriptionEvent.event, SubscriptionEvent.from_status, SubscriptionEvent.to_status, SubscriptionEvent.actor,
        SubscriptionEvent.reason, SubscriptionEvent.data, SubscriptionEvent.occurred_at,
    ).where(SubscriptionEvent.subscription == subscription_id).order_by(SubscriptionEvent.id).output(
        load_json=True
    )  # fmt: skip
    sent = await OutboxEvent.select(OutboxEvent.event_type, OutboxEvent.payload).where(
        (OutboxEvent.aggregate_type == "subscription") & (OutboxEvent.aggregate_id == str(subscription_id))
    ).order_by(OutboxEvent.id).output(load_json=True)  # fmt: skip
    kept = ("status", "canceled_at", "ended_at", "paused_at", "cancel_reason", "updated_at")
    return {"subscription": {k: sub[k] for k in kept}, "events": events, "outbox": sent}


async def test_a_trial_ending_and_a_cancellation_at_period_end_are_written_as_the_single_path_writes_them(
    machines: str,
) -> None:
    trial = await monthly(900, status="trialing", trial_end=FEB28, billing_anchor=FEB28)
    ending = await monthly(cancel_at_period_end=True, cancel_reason="moving")
    at = FEB28 + timedelta(hours=1)
    with clock.frozen_at(at):
        await generate_renewals()

    # The same moves through the single path, on twins in the same states.
    trial_twin = await monthly(900, status="trialing", trial_end=FEB28, billing_anchor=FEB28)
    ending_twin = await monthly(cancel_at_period_end=True, cancel_reason="moving")
    with clock.frozen_at(at):
        await subscriptions.transition(
            trial_twin.id, subscription_states.Event.trial_end, actor=ACTOR, reason="period ended", at=FEB28,
            changes={Subscription.updated_at: at},
        )  # fmt: skip
        await subscriptions.transition(
            ending_twin.id, subscription_states.Event.cancel, actor=ACTOR, reason="period ended", at=FEB28,
            changes={Subscription.ended_at: FEB28, Subscription.updated_at: at},
        )  # fmt: skip

    assert await subscription_record(trial.id) == await subscription_record(trial_twin.id)
    canceled = await subscription_record(ending.id)
    assert canceled == await subscription_record(ending_twin.id)
    assert [e["event"] for e in canceled["events"]] == ["cancel"]
    stamped = machines == "machines as built"
    assert (canceled["subscription"]["status"], canceled["subscription"]["canceled_at"]) == (
        "canceled", FEB28 if stamped else None
    )  # fmt: skip


async def test_a_cancellation_asked_for_earlier_keeps_its_time_when_it_takes_effect() -> None:
    sub = await monthly()
    asked = FEB28 - timedelta(days=10)
    await subscriptions.cancel(sub.id, actor="customer:1", reason="moving", at=asked)
    with clock.frozen_at(FEB28 + timedelta(hours=1)):
        assert (await generate_renewals()).ended == 1
    after = await stored(sub.id)
    assert (after["status"], after["canceled_at"], after["ended_at"]) == ("canceled", asked, FEB28)


async def test_period_end_events_reach_the_outbox_without_on_commit_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """At a period end nothing cached can hold the customer's entitlements (app/subscriptions/access.py): the
    run's subscription events are dispatched, never handed to on-commit handlers (a cache call per customer)."""
    seen: list[str] = []

    async def on_subscription(events: Any) -> None:
        seen.extend(event.event_type for event in events)

    monkeypatch.setattr(outbox, "_on_commit", {"subscription.*": [on_subscription]})
    basic = await factories.plan(amount_minor=1000, interval="month")
    await monthly(900, status="trialing", trial_end=FEB28, billing_anchor=FEB28, pending_plan=basic.id)
    await monthly(cancel_at_period_end=True)
    with clock.frozen_at(FEB28):
        await generate_renewals()
    types = sorted(o["event_type"] for o in await OutboxEvent.select(OutboxEvent.event_type))
    assert types == ["invoice.finalize", "subscription.cancel", "subscription.plan_change", "subscription.trial_end"]
    assert seen == []


async def test_a_finalization_the_invoice_machine_refuses_is_refused_by_the_run_as_by_finalize(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    transitions = {k: v for k, v in invoice_states.TRANSITIONS.items() if k[1] is not invoice_states.Event.finalize}
    monkeypatch.setattr(invoice_states, "MACHINE", replace(invoice_states.MACHINE, transitions=transitions))
    sub = await monthly()
    with clock.frozen_at(FEB28), pytest.raises(IllegalTransition):
        await generate_renewals()
    assert (await Invoice.count(), await InvoiceEvent.count(), await OutboxEvent.count()) == (0, 0, 0)
    assert (await stored(sub.id))["current_period_end"] == FEB28  # the batch rolled back whole

    draft = await invoices.create_draft(sub.customer, "USD", [], subscription_id=sub.id)
    with pytest.raises(IllegalTransition):
        await invoices.finalize(draft, actor="staff:1")
