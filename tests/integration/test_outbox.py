from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app import clock
from app.outbox.service import DomainEvent, dispatch_pending, record
from tables.outbox import OutboxEvent


async def test_events_commit_with_the_change_or_not_at_all() -> None:
    async with OutboxEvent._meta.db.transaction():
        await record("invoice.paid", "invoice", 7, {"amount_minor": 900})
    try:
        async with OutboxEvent._meta.db.transaction():
            await record("invoice.paid", "invoice", 8, {"amount_minor": 100})
            raise RuntimeError("the change failed")
    except RuntimeError:
        pass
    assert [r["aggregate_id"] for r in await OutboxEvent.select(OutboxEvent.aggregate_id)] == ["7"]


async def test_dispatch_delivers_matching_events_once() -> None:
    seen: list[DomainEvent] = []

    async def on_invoice(event: DomainEvent) -> None:
        seen.append(event)

    await record("invoice.paid", "invoice", 1, {"n": 1})
    await record("subscription.updated", "subscription", 2, {})
    handlers = {"invoice.*": [on_invoice]}
    assert await dispatch_pending(handlers) == 2  # the subscription event has no subscriber and is done too
    assert await dispatch_pending(handlers) == 0
    assert [(e.event_type, e.payload) for e in seen] == [("invoice.paid", {"n": 1})]


async def test_a_failing_handler_backs_off_and_is_retried() -> None:
    calls = 0

    async def flaky(event: DomainEvent) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("partner endpoint down")

    start = datetime(2026, 3, 1, 12, tzinfo=UTC)
    with clock.frozen_at(start):
        await record("invoice.paid", "invoice", 1, {})
        assert await dispatch_pending({"*": [flaky]}) == 0
    row = await OutboxEvent.select().first()
    assert row is not None
    assert row["attempts"] == 1
    assert "partner endpoint down" in row["last_error"]
    with clock.frozen_at(start + timedelta(seconds=5)):
        assert await dispatch_pending({"*": [flaky]}) == 0  # still backing off
    with clock.frozen_at(start + timedelta(minutes=5)):
        assert await dispatch_pending({"*": [flaky]}) == 1
    assert calls == 2
