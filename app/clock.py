"""The only source of time in Recurra.

Everything asks ``now()``. Tests (and, through the subscriptions domain, staff test clocks) replace the source
with ``use_clock``; nothing else calls ``datetime.now``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


_clock: ContextVar[Clock] = ContextVar("recurra_clock", default=system_clock)


def now() -> datetime:
    """The current instant, timezone-aware UTC."""
    value = _clock.get()()
    if value.tzinfo is None:
        raise ValueError("clocks must return timezone-aware datetimes")
    return value.astimezone(UTC)


def as_utc(value: datetime) -> datetime:
    """Normalise a datetime read from storage (SQLite drops the zone) to aware UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@contextmanager
def use_clock(clock: Clock) -> Iterator[None]:
    """Run the enclosed block (and tasks it starts) with ``clock`` as the time source."""
    token = _clock.set(clock)
    try:
        yield
    finally:
        _clock.reset(token)


@contextmanager
def frozen_at(instant: datetime) -> Iterator[None]:
    """Stop time at ``instant`` for the enclosed block."""
    fixed = as_utc(instant)
    with use_clock(lambda: fixed):
        yield
