"""Billing periods counted from an anchor: pure functions of their arguments, UTC only.

Every boundary is computed from the anchor, never from the previous boundary, so a month-end anchor is
clamped in short months and restored afterwards (Jan 31 -> Feb 28/29 -> Mar 31). Periods are half-open
``[start, end)``: the instant ``end`` belongs to the next period.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Unit(StrEnum):
    day = "day"
    week = "week"
    month = "month"
    year = "year"


@dataclass(frozen=True, slots=True)
class Interval:
    unit: Unit
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError("an interval counts at least one unit")

    @classmethod
    def of(cls, unit: str, count: int = 1) -> Interval:
        return cls(Unit(unit), count)

    def describe(self) -> str:
        return self.unit.value if self.count == 1 else f"{self.count} {self.unit.value}s"


@dataclass(frozen=True, slots=True)
class Period:
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        _require_utc(self.start)
        _require_utc(self.end)
        if self.end <= self.start:
            raise ValueError("a period ends after it starts")

    @property
    def seconds(self) -> int:
        return _seconds(self.end - self.start)

    def contains(self, at: datetime) -> bool:
        return self.start <= at < self.end

    def seconds_left(self, at: datetime) -> int:
        """Whole seconds from ``at`` to the end, clipped to the period."""
        at = min(max(at, self.start), self.end)
        return _seconds(self.end - at)


def _seconds(delta: timedelta) -> int:
    # Proration is by whole seconds; sub-second parts are dropped the same way on both sides of the ratio.
    return delta.days * 86_400 + delta.seconds


def _require_utc(value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() != timedelta(0):
        raise ValueError("billing times are timezone-aware UTC")


def add_months(anchor: datetime, months: int) -> datetime:
    """``anchor`` moved by whole months, its day clamped to the target month's length."""
    index = anchor.year * 12 + (anchor.month - 1) + months
    year, month = divmod(index, 12)
    day = min(anchor.day, calendar.monthrange(year, month + 1)[1])
    return anchor.replace(year=year, month=month + 1, day=day)


def boundary(anchor: datetime, interval: Interval, n: int) -> datetime:
    """The ``n``-th period boundary counted from ``anchor`` (n may be negative)."""
    _require_utc(anchor)
    steps = n * interval.count
    if interval.unit is Unit.day:
        return anchor + timedelta(days=steps)
    if interval.unit is Unit.week:
        return anchor + timedelta(weeks=steps)
    if interval.unit is Unit.month:
        return add_months(anchor, steps)
    return add_months(anchor, 12 * steps)


def _index_at_or_before(anchor: datetime, interval: Interval, at: datetime) -> int:
    """The largest n with boundary(n) <= at."""
    if interval.unit in (Unit.day, Unit.week):
        step = timedelta(days=interval.count * (7 if interval.unit is Unit.week else 1))
        return (at - anchor) // step
    months = interval.count * (12 if interval.unit is Unit.year else 1)
    n = ((at.year - anchor.year) * 12 + at.month - anchor.month) // months
    # The month estimate can be one off either way (day and time of day within the month): settle it.
    while boundary(anchor, interval, n) > at:
        n -= 1
    while boundary(anchor, interval, n + 1) <= at:
        n += 1
    return n


def period_at(anchor: datetime, interval: Interval, at: datetime) -> Period:
    """The period of the anchor's grid that contains ``at``."""
    _require_utc(at)
    n = _index_at_or_before(anchor, interval, at)
    return Period(boundary(anchor, interval, n), boundary(anchor, interval, n + 1))


def next_boundary(anchor: datetime, interval: Interval, after: datetime) -> datetime:
    """The first boundary of the anchor's grid strictly after ``after``."""
    return period_at(anchor, interval, after).end


def first_period(start: datetime, interval: Interval) -> Period:
    """A new subscription's first period, with ``start`` as its billing anchor."""
    return Period(start, boundary(start, interval, 1))
