"""The only source of time in Recurra.

Everything asks ``now()``. Tests (and, through the subscriptions domain, staff test clocks) replace the source
with ``use_clock``; nothing else calls ``datetime.now``. The system clock itself can be moved by whole days
(``RECURRA_TEST_TODAY``, tests and the demo only: Settings refuses it in production), so a whole test run, every
process it starts included, can live on a chosen calendar day.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from functools import cache

Clock = Callable[[], datetime]


def real_now() -> datetime:
    """The machine's time, never moved: only for what must follow the real clock (a job scheduler's wall time)."""
    return datetime.now(UTC)


@cache
def shift() -> timedelta:
    """How far the system clock is moved, read from the settings once, at the process's first tick."""
    from app.settings import get_settings  # the settings know nothing of the clock; read lazily, once

    override = get_settings().today_override
    return override.shift(real_now().date()) if override is not None else timedelta(0)


def system_clock() -> datetime:
    return real_now() + shift()


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
