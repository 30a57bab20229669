"""Business hours: pure arithmetic on the support desk's opening hours, in the desk's own time zone.

Each business day is open ``[opens, closes)`` on the local wall clock; that day's window is turned into UTC with
the day's own offset, so across a DST change the UTC hours move with it, and a window the change falls into is
shorter or longer in real time (the skipped hour is not worked, the repeated one is). A local time the clocks skip
counts with the offset before the change (02:30 on a spring-forward night is 03:30 after it); a repeated local time
counts at its first occurrence. Every function takes and returns timezone-aware instants and reads no clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

DAY_MINUTES = 24 * 60
# Bounds every walk over the calendar: a target longer than this many days of calendar is a configuration error.
MAX_DAYS = 10_000
ZERO = timedelta(0)


@dataclass(frozen=True, slots=True)
class BusinessHours:
    zone: tzinfo
    days: frozenset[int]  # weekdays open, Monday = 0
    opens_minute: int  # minutes after local midnight
    closes_minute: int  # at most 24 * 60 (midnight at the day's end)

    def __post_init__(self) -> None:
        if not self.days or not self.days <= set(range(7)):
            raise ValueError("business hours need at least one weekday (0-6)")
        if not 0 <= self.opens_minute < self.closes_minute <= DAY_MINUTES:
            raise ValueError("business hours open before they close, within one day")

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """The UTC instants ``day`` (a local date) opens and closes; None on a closed day."""
        if day.weekday() not in self.days:
            return None
        opens, closes = self._instant(day, self.opens_minute), self._instant(day, self.closes_minute)
        return (opens, closes) if opens < closes else None

    def local_date(self, at: datetime) -> date:
        return _aware(at).astimezone(self.zone).date()

    def _instant(self, day: date, minute: int) -> datetime:
        wall = datetime.combine(day, time()) + timedelta(minutes=minute)  # wall-clock arithmetic: 24:00 is tomorrow
        return wall.replace(tzinfo=self.zone).astimezone(UTC)

    def windows_from(self, at: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Every window that has not closed by ``at``, in time order (the first one may be open already)."""
        day = self.local_date(at)
        for offset in range(MAX_DAYS):
            found = self.window(day + timedelta(days=offset))
            if found is not None and found[1] > at:
                yield found
        raise ValueError(f"no business time within {MAX_DAYS} days")

    def windows_before(self, at: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Every window that had opened before ``at``, newest first (the first one may still be open)."""
        day = self.local_date(at)
        for offset in range(MAX_DAYS):
            found = self.window(day - timedelta(days=offset))
            if found is not None and found[0] < at:
                yield found
        raise ValueError(f"no business time within {MAX_DAYS} days")


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("business-hours arithmetic takes timezone-aware instants")
    return at


def add_business_time(start: datetime, duration: timedelta, hours: BusinessHours) -> datetime:
    """The instant ``duration`` of business time after ``start`` (a start outside business hours counts from the
    next opening; a duration that ends exactly at a closing ends there, not at the next opening)."""
    if duration < ZERO:
        raise ValueError("a duration of business time is not negative")
    start = _aware(start).astimezone(UTC)
    remaining = duration
    for opens, closes in hours.windows_from(start):
        begin = max(opens, start)
        if remaining <= closes - begin:
            return begin + remaining
        remaining -= closes - begin
    raise AssertionError("unreachable: windows_from ends by raising")  # pragma: no cover


def business_time_between(start: datetime, end: datetime, hours: BusinessHours) -> timedelta:
    """How much business time lies in ``[start, end)`` (zero when ``end`` is not after ``start``)."""
    start, end = _aware(start).astimezone(UTC), _aware(end).astimezone(UTC)
    total = ZERO
    if end <= start:
        return total
    for opens, closes in hours.windows_from(start):
        if opens >= end:
            break
        total += min(closes, end) - max(opens, start)
    return total


def latest_start_due_by(end: datetime, duration: timedelta, hours: BusinessHours) -> datetime:
    """The latest start whose ``duration`` of business time has run out by ``end``: ``add_business_time(start,
    duration) <= end`` exactly when ``start <= latest_start_due_by(end, duration)``. A deadline filter in SQL
    compares start times with it (``app.support.sla.breach_cutoffs``)."""
    if duration < ZERO:
        raise ValueError("a duration of business time is not negative")
    end = _aware(end).astimezone(UTC)
    remaining = duration
    for opens, closes in hours.windows_before(end):
        last = min(closes, end)
        if remaining <= last - opens:
            return last - remaining
        remaining -= last - opens
    raise AssertionError("unreachable: windows_before ends by raising")  # pragma: no cover
