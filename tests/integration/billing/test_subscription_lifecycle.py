"""Subscription transitions on PostgreSQL: event rows, outbox events, refusals, races, and the lifecycle
services (subscribe, activate, trials, expiry, cancel, pause and resume)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from app import clock
from app.billing.errors import ConcurrentChange, IllegalTransition
from app.subscriptions import service
from app.subscriptions.states import Event
from tables.billing import Invoice, InvoiceLine
from tables.outbox import OutboxEvent
from tables.subscriptions import Subscription, SubscriptionEvent
from tests import factories

T0 = datetime(2026, 3, 10, 8, tzinfo=UTC)


async def row(subscription_id: int) -> dict:  # type: ignore[type-arg]
    found = await Subscription.select().where(Subscription.id == subscription_id).first()
    assert found is not None
    return found


async def test_transition_stamps_writes_the_event_row_and_the_outbox_event() -> None:
    sub = await factories.subscription()
    await service.transition(sub.id, Event.pause, actor="customer:1", reason="holiday", at=T0)
    stored = await row(sub.id)
    assert (stored["status"], stored["paused_at"], stored["updated_at"]) == ("paused", T0, T0)
    events = await SubscriptionEvent.select().where(SubscriptionEvent.subscription == sub.id)
    assert [
        (e["event"], e["from_status"], e["to_status"], e["actor"], e["reason"], e["occurred_at"]) for e in events
    ] == [("pause", "active", "paused", "customer:1", "holiday", T0)]
    outbox = await OutboxEvent.select().where(OutboxEvent.aggregate_type == "subscription").output(load_json=True)
    assert [(o["event_type"], o["payload"]["from"], o["payload"]["to"]) for o in outbox] == [
        ("subscription.pause", "active", "paused")
    ]


async def test_illegal_transitions_are_refused_and_leave_no_trace() -> None:
    sub = await factories.subscription(status=Subscription.Status.canceled)
    with pytest.raises(IllegalTransition) as refused:
        await service.transition(sub.id, Event.resume, actor="t")
    assert refused.value.code == "illegal_transition"
    assert (await row(sub.id))["status"] == "canceled"
    assert await SubscriptionEvent.count() == 0
    assert await OutboxEvent.count() == 0


async def test_concurrent_transitions_on_one_subscription_let_exactly_one_win() -> None:
    sub = await factories.subscription()
    outcomes = await asyncio.gather(
        *(service.transition(sub.id, Event.pause, actor=f"w{n}", at=T0) for n in range(6)), return_exceptions=True
    )
    won = [o for o in outcomes if not isinstance(o, Exception)]
    assert len(won) == 1
    assert all(isinstance(o, ConcurrentChange | IllegalTransition) for o in outcomes if o not in won)
    assert await SubscriptionEvent.count() == 1
    assert await OutboxEvent.count() == 1


async def test_subscribe_without_trial_finalizes_the_first_invoice_then_activates() -> None:
    customer, plan = await factories.customer(), await factories.plan(amount_minor=1200, interval="month")
    subscribed = await service.subscribe(customer.id, plan.id, actor="customer:1", at=T0)
    assert subscribed.status == "incomplete"
    assert subscribed.invoice is not None
    assert (subscribed.invoice.total_minor, subscribed.invoice.number) == (1200, "INV-2026-000001")
    stored = await row(subscribed.subscription_id)
    assert (stored["current_period_start"], stored["current_period_end"]) == (T0, datetime(2026, 4, 10, 8, tzinfo=UTC))
    assert stored["expires_at"] == T0 + timedelta(hours=23)
    invoice = await Invoice.select().where(Invoice.id == subscribed.invoice.id).first()
    assert invoice is not None
    assert invoice["billing_reason"] == "subscription_create"
    await service.activate(subscribed.subscription_id, actor="payments", at=T0)
    stored = await row(subscribed.subscription_id)
    assert (stored["status"], stored["expires_at"]) == ("active", None)


async def test_subscribe_with_trial_bills_nothing_until_the_trial_ends() -> None:
    customer, plan = await factories.customer(), await factories.plan(trial_days=14)
    subscribed = await service.subscribe(customer.id, plan.id, actor="customer:1", at=T0)
    assert subscribed.invoice is None
    assert subscribed.trial_end == T0 + timedelta(days=14)
    await service.start_trial(subscribed.subscription_id, actor="payments", at=T0)
    stored = await row(subscribed.subscription_id)
    assert (stored["status"], stored["current_period_end"], stored["billing_anchor"]) == (
        "trialing", T0 + timedelta(days=14), T0 + timedelta(days=14)
    )  # fmt: skip
    assert await Invoice.count() == 0


async def test_abandoned_checkouts_expire_after_23_hours_and_their_invoice_is_voided() -> None:
    customer, plan = await factories.customer(), await factories.plan()
    subscribed = await service.subscribe(customer.id, plan.id, actor="customer:1", at=T0)
    assert await service.expire_incomplete(now=T0 + timedelta(hours=22, minutes=59)) == []
    assert await service.expire_incomplete(now=T0 + timedelta(hours=23)) == [subscribed.subscription_id]
    stored = await row(subscribed.subscription_id)
    assert (stored["status"], stored["ended_at"]) == ("incomplete_expired", T0 + timedelta(hours=23))
    invoice = await Invoice.select(Invoice.status).where(Invoice.subscription == subscribed.subscription_id)
    assert invoice == [{"status": "void"}]


async def test_cancel_now_ends_at_once() -> None:
    sub = await factories.subscription()
    await service.cancel(sub.id, actor="customer:1", reason="too expensive", at_period_end=False, at=T0)
    stored = await row(sub.id)
    assert (stored["status"], stored["canceled_at"], stored["ended_at"], stored["cancel_reason"]) == (
        "canceled", T0, T0, "too expensive"
    )  # fmt: skip


async def test_cancel_at_period_end_is_resumable_until_then() -> None:
    with clock.frozen_at(T0):
        sub = await factories.subscription()
        assert await service.cancel(sub.id, actor="customer:1", reason="moving") is None
    stored = await row(sub.id)
    assert (stored["status"], stored["cancel_at_period_end"], stored["canceled_at"]) == ("active", True, T0)
    await service.undo_cancel(sub.id, actor="customer:1")
    stored = await row(sub.id)
    assert (stored["cancel_at_period_end"], stored["canceled_at"], stored["cancel_reason"]) == (False, None, "")
    types = [o["event_type"] for o in await OutboxEvent.select(OutboxEvent.event_type).order_by(OutboxEvent.id)]
    assert types == ["subscription.cancel_scheduled", "subscription.cancel_undone"]


async def test_pause_keeps_the_rest_of_the_period_for_the_resume() -> None:
    sub = await factories.subscription(
        current_period_start=datetime(2026, 3, 1, tzinfo=UTC),
        current_period_end=datetime(2026, 4, 1, tzinfo=UTC),
        billing_anchor=datetime(2026, 3, 1, tzinfo=UTC),
    )
    await service.pause(sub.id, actor="customer:1", at=datetime(2026, 3, 21, tzinfo=UTC))  # 11 days left
    await service.resume(sub.id, actor="customer:1", at=datetime(2026, 5, 1, tzinfo=UTC))
    stored = await row(sub.id)
    assert stored["status"] == "active"
    assert stored["current_period_end"] == datetime(2026, 5, 12, tzinfo=UTC)
    assert stored["billing_anchor"] == datetime(2026, 5, 12, tzinfo=UTC)  # the next periods count from there
    assert stored["paused_at"] is None
    assert await InvoiceLine.count() == 0
