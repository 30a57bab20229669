from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from app import clock
from app.outbox import service as outbox
from app.outbox.service import DomainEvent, dispatch_pending, record, record_many
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


async def test_on_commit_handlers_run_once_the_outermost_transaction_commits_and_never_on_rollback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = OutboxEvent._meta.db
    seen: list[tuple[str, bool]] = []

    async def on_subscription(events: Sequence[DomainEvent]) -> None:
        for event in events:
            committed = await OutboxEvent.exists().where(OutboxEvent.id == event.id)  # outside any transaction
            seen.append((event.aggregate_id, committed and not db.transaction_exists()))

    monkeypatch.setattr(outbox, "_on_commit", {"subscription.*": [on_subscription]})
    async with db.transaction():
        async with db.transaction():  # nested: Piccolo hands back the outer one
            await record("subscription.cancel", "subscription", 1, {})
        await record("invoice.paid", "invoice", 9, {})  # no on-commit handler for it
        assert seen == []  # the outer transaction has not committed yet
    assert seen == [("1", True)]

    async def failing_change() -> None:
        async with db.transaction():
            await record("subscription.pause", "subscription", 2, {})
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        await failing_change()
    await record("subscription.resume", "subscription", 3, {})  # no transaction: committed already
    assert seen == [("1", True), ("3", True)]


async def test_a_failing_on_commit_handler_does_not_undo_or_fail_the_change(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(events: Sequence[DomainEvent]) -> None:
        raise ConnectionError("the cache is down")

    monkeypatch.setattr(outbox, "_on_commit", {"subscription.*": [broken]})
    async with OutboxEvent._meta.db.transaction():
        await record("subscription.cancel", "subscription", 1, {})
    assert await OutboxEvent.count() == 1
    assert "after-commit callback failed" in caplog.text


async def test_a_batch_writer_hands_its_events_to_on_commit_handlers_in_one_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[list[tuple[int, str, str]]] = []

    async def on_subscription(events: Sequence[DomainEvent]) -> None:
        calls.append([(event.id, event.event_type, event.aggregate_id) for event in events])

    monkeypatch.setattr(outbox, "_on_commit", {"subscription.*": [on_subscription]})
    now = clock.now()
    async with OutboxEvent._meta.db.transaction():
        await record_many(
            [("subscription.retries_exhausted", "subscription", n, {"n": n}, now) for n in (4, 5)]
            + [("invoice.voided", "invoice", 6, {}, now)]
        )
        await record_many([("subscription.renewed", "subscription", 7, {}, now)], on_commit=False)
        assert calls == []
    stored = {
        row["aggregate_id"]: row["id"] for row in await OutboxEvent.select(OutboxEvent.id, OutboxEvent.aggregate_id)
    }
    assert calls == [
        [(stored["4"], "subscription.retries_exhausted", "4"), (stored["5"], "subscription.retries_exhausted", "5")]
    ]
