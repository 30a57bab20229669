"""Write domain events inside a transaction; dispatch them to subscribers after it commits.

Handlers registered with ``subscribe_on_commit`` also run in the recording process the moment that transaction
commits, before any dispatcher sees the event: for quick, idempotent effects that must not wait (dropping a
cached entitlement). The dispatcher delivers every event to ``subscribe``'s handlers all the same.

A dispatcher claims a batch by leasing it (``next_attempt_at`` pushed into the future) in a short
transaction, commits, runs the handlers, then marks each event dispatched. A crashed dispatcher's lease
simply runs out and another picks the events up, so handlers must be idempotent (they are keyed by event id).
"""

from __future__ import annotations

import fnmatch
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from piccolo.columns.combination import Or

from app import clock
from app.db import after_commit, insert_many, write_transaction
from tables.outbox import OutboxEvent

log = logging.getLogger("recurra.outbox")

LEASE = timedelta(minutes=2)
MAX_BACKOFF = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class DomainEvent:
    id: int
    event_type: str
    aggregate_type: str
    aggregate_id: str
    payload: dict[str, Any]
    created_at: datetime


def event_job_id(event: DomainEvent, purpose: str) -> str:
    """A job id for what a handler enqueues for ``event`` (a mail): the same whenever the event is handled again
    (arq then queues it once), and unique to the event also across a database restored or recreated (whose
    event ids start over), by the event's time."""
    return f"{purpose}:event-{event.id}-{event.created_at.timestamp():.6f}"


Handler = Callable[[DomainEvent], Awaitable[None]]
# On-commit handlers take every matching event a transaction recorded at once (a batch writer records hundreds).
BatchHandler = Callable[[Sequence[DomainEvent]], Awaitable[None]]
H = TypeVar("H")
_subscribers: dict[str, list[Handler]] = {}
_on_commit: dict[str, list[BatchHandler]] = {}


def subscribe(pattern: str, handler: Handler) -> None:
    """Call ``handler`` for every dispatched event whose type matches ``pattern`` (fnmatch, e.g. 'invoice.*')."""
    _subscribers.setdefault(pattern, []).append(handler)


def subscribe_on_commit(pattern: str, handler: BatchHandler) -> None:
    """Also call ``handler`` in this process as soon as the transaction recording a matching event commits.
    Best effort (a failure is logged; nothing retries it): pair it with ``subscribe`` for the guarantee."""
    _on_commit.setdefault(pattern, []).append(handler)


def subscribers() -> Mapping[str, Sequence[Handler]]:
    return _subscribers


def _matching(handlers: Mapping[str, Sequence[H]], event_type: str) -> list[H]:
    return [h for pattern, hs in handlers.items() if fnmatch.fnmatchcase(event_type, pattern) for h in hs]


async def _after_commit(events: Sequence[DomainEvent]) -> None:
    """Hand each on-commit handler the events it matches, once the current transaction commits."""
    calls: dict[BatchHandler, list[DomainEvent]] = {}
    for event in events:
        for handler in _matching(_on_commit, event.event_type):
            calls.setdefault(handler, []).append(event)
    if not calls:
        return

    async def run() -> None:
        for handler, matched in calls.items():
            await handler(matched)

    await after_commit(OutboxEvent._meta.db, run)


async def record(event_type: str, aggregate_type: str, aggregate_id: int | str, payload: dict[str, Any]) -> int:
    """Append an event; call inside the transaction that makes the change, so both commit or neither does."""
    created_at = clock.now()
    rows = await OutboxEvent.insert(
        OutboxEvent(
            event_type=event_type,
            aggregate_type=aggregate_type,
            aggregate_id=str(aggregate_id),
            payload=payload,
            created_at=created_at,
        )
    ).returning(OutboxEvent.id)
    event_id = int(rows[0]["id"])
    await _after_commit([DomainEvent(event_id, event_type, aggregate_type, str(aggregate_id), payload, created_at)])
    return event_id


# (event_type, aggregate_type, aggregate_id, payload, created_at)
OutboxRow = tuple[str, str, int | str, Mapping[str, Any], datetime]


async def record_many(rows: Iterable[OutboxRow], *, on_commit: bool = True) -> None:
    """``record`` for a batch: one multi-row INSERT (the billing run's set-based writers). ``on_commit=False``
    leaves the on-commit handlers out, for a writer whose changes nothing cached yet can have seen."""
    batch = [(kind, aggregate, str(key), payload, at) for kind, aggregate, key, payload, at in rows]
    columns = ("event_type", "aggregate_type", "aggregate_id", "payload", "created_at", "attempts", "last_error")
    values = [(kind, aggregate, key, json.dumps(payload), at, 0, "") for kind, aggregate, key, payload, at in batch]
    wanted = on_commit and any(_matching(_on_commit, kind) for kind, *_ in batch)
    inserted = await insert_many(OutboxEvent, columns, values, returning="id" if wanted else "")
    if wanted:  # RETURNING gives the rows of a multi-row VALUES in their order
        events = [
            DomainEvent(int(row["id"]), kind, aggregate, key, dict(payload), at)
            for row, (kind, aggregate, key, payload, at) in zip(inserted, batch, strict=True)
        ]
        await _after_commit(events)


async def _claim(batch_size: int) -> list[DomainEvent]:
    now = clock.now()
    async with write_transaction():
        query = (
            OutboxEvent.select()
            .where(OutboxEvent.dispatched_at.is_null())
            .where(Or(OutboxEvent.next_attempt_at.is_null(), OutboxEvent.next_attempt_at <= now))
            .order_by(OutboxEvent.id)
            .limit(batch_size)
            .output(load_json=True)
        )
        if OutboxEvent._meta.db.engine_type == "postgres":
            query = query.lock_rows(skip_locked=True)
        rows = await query
        if rows:
            await OutboxEvent.update({OutboxEvent.next_attempt_at: now + LEASE}).where(
                OutboxEvent.id.is_in([r["id"] for r in rows])
            )
    return [
        DomainEvent(
            id=r["id"],
            event_type=r["event_type"],
            aggregate_type=r["aggregate_type"],
            aggregate_id=r["aggregate_id"],
            payload=r["payload"],
            created_at=r["created_at"],
        )
        for r in rows
    ]


async def dispatch_pending(handlers: Mapping[str, Sequence[Handler]] | None = None, batch_size: int = 200) -> int:
    """Deliver one batch of pending events; returns how many were dispatched."""
    handlers = subscribers() if handlers is None else handlers
    dispatched = 0
    for event in await _claim(batch_size):
        try:
            for handler in _matching(handlers, event.event_type):
                await handler(event)
        except Exception as exc:
            log.exception("outbox event %s (%s) failed", event.id, event.event_type)
            await _reschedule(event.id, exc)
            continue
        await OutboxEvent.update({OutboxEvent.dispatched_at: clock.now()}).where(OutboxEvent.id == event.id)
        dispatched += 1
    return dispatched


async def _reschedule(event_id: int, exc: Exception) -> None:
    row = await OutboxEvent.select(OutboxEvent.attempts).where(OutboxEvent.id == event_id).first()
    attempts = (row["attempts"] if row else 0) + 1
    backoff = min(timedelta(seconds=10 * 2**attempts), MAX_BACKOFF)
    await OutboxEvent.update(
        {
            OutboxEvent.attempts: attempts,
            OutboxEvent.next_attempt_at: clock.now() + backoff,
            OutboxEvent.last_error: f"{type(exc).__name__}: {exc}"[:2000],
        }
    ).where(OutboxEvent.id == event_id)
