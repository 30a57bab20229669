"""Service levels of the support desk: per priority, a first-response target and a resolution target, both in
business hours (``SlaSettings``; the arithmetic is ``app.support.business_hours``). Pure: the time is an argument.

- **First response**: from the ticket's creation to the first public staff reply (a ticket the customer solved
  before anybody answered counts as answered when it was solved).
- **Resolution**: from the ticket's creation to its (latest) solve. The clock runs while the ticket waits on the
  customer too: it measures how long the customer's question stayed open in all.

Targets are not stored on tickets: the due instant follows from ``created_at``, the priority and the settings,
so a changed priority or setting applies at once. For the queue's "breached" filter ``breach_cutoffs`` turns
"due before now" into "created at or before this instant" per priority, which SQL can compare.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from app.settings import SlaSettings
from app.support.business_hours import (
    BusinessHours,
    add_business_time,
    business_time_between,
    latest_start_due_by,
)

DONE_STATUSES = frozenset({"solved", "closed"})


class State(StrEnum):
    running = "running"  # not done yet, not due yet
    breached = "breached"  # done late, or not done and past due
    met = "met"  # done in time


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    hours: BusinessHours
    first_response: Mapping[str, timedelta]
    resolution: Mapping[str, timedelta]

    @classmethod
    def from_settings(cls, settings: SlaSettings) -> SlaPolicy:
        hours = BusinessHours(
            zone=ZoneInfo(settings.timezone), days=frozenset(settings.days), opens_minute=settings.opens_minute,
            closes_minute=settings.closes_minute,
        )  # fmt: skip
        return cls(
            hours=hours,
            first_response={p: timedelta(minutes=m) for p, m in settings.first_response_minutes.items()},
            resolution={p: timedelta(minutes=m) for p, m in settings.resolution_minutes.items()},
        )


@dataclass(frozen=True, slots=True)
class Target:
    name: str  # "First response", "Resolution"
    due_at: datetime  # UTC
    due_local: datetime  # the same instant on the desk's clock
    state: State
    done_at: datetime | None
    business_left: timedelta  # running: business time until due
    business_late: timedelta  # breached: business time past due (so far, or when it was done)

    @property
    def label(self) -> str:
        """What the queue and the ticket page say: "due in 2 h", "breached 3 h ago", "met"."""
        if self.state == State.met:
            return "met"
        if self.state == State.running:
            return f"due in {describe(self.business_left)}"
        if self.done_at is not None:
            return f"breached ({describe(self.business_late)} late)"
        if self.business_late < timedelta(minutes=1):
            return "breached"
        return f"breached {describe(self.business_late)} ago"


@dataclass(frozen=True, slots=True)
class TicketSla:
    first_response: Target
    resolution: Target

    @property
    def breached(self) -> bool:
        return State.breached in (self.first_response.state, self.resolution.state)

    @property
    def next(self) -> Target:
        """The target the desk is working towards now (the first response until it is given)."""
        return self.first_response if self.first_response.done_at is None else self.resolution


def describe(span: timedelta) -> str:
    """A business-time span in words: "45 min", "2 h", "2 h 15 min", "26 h"."""
    minutes = max(0, int(span.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h" if rest == 0 or hours >= 10 else f"{hours} h {rest} min"


def target(name: str, start: datetime, allowed: timedelta, done_at: datetime | None, now: datetime,
           hours: BusinessHours) -> Target:  # fmt: skip
    """One target: due ``allowed`` business time after ``start``; done at ``done_at`` (None: not yet)."""
    due = add_business_time(start, allowed, hours)
    local = due.astimezone(hours.zone)
    if done_at is not None:
        late = business_time_between(due, done_at, hours)
        state = State.breached if done_at > due else State.met
        return Target(name, due, local, state, done_at, timedelta(0), late)
    if now > due:
        return Target(name, due, local, State.breached, None, timedelta(0), business_time_between(due, now, hours))
    return Target(name, due, local, State.running, None, business_time_between(now, due, hours), timedelta(0))


def ticket_sla(
    policy: SlaPolicy,
    *,
    priority: str,
    status: str,
    created_at: datetime,
    first_response_at: datetime | None,
    solved_at: datetime | None,
    now: datetime,
) -> TicketSla:
    solved = solved_at if status in DONE_STATUSES else None
    return TicketSla(
        first_response=target("First response", created_at, policy.first_response[priority],
                              first_response_at or solved, now, policy.hours),
        resolution=target("Resolution", created_at, policy.resolution[priority], solved, now, policy.hours),
    )  # fmt: skip


# Timestamps have microsecond resolution (Python's and PostgreSQL's alike): "due before now" is "due by now - 1 us".
TICK = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Cutoffs:
    """Per priority: a ticket created at or before ``first_response`` (``resolution``) is past that target's due."""

    first_response: datetime
    resolution: datetime


def breach_cutoffs(policy: SlaPolicy, now: datetime) -> dict[str, Cutoffs]:
    return {
        priority: Cutoffs(
            first_response=latest_start_due_by(now - TICK, policy.first_response[priority], policy.hours),
            resolution=latest_start_due_by(now - TICK, policy.resolution[priority], policy.hours),
        )
        for priority in policy.first_response
    }
