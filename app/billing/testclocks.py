"""Test clocks (Stripe's): a test customer lives on a clock's frozen time; staff advance it to watch renewals,
trial ends and cancellations happen. Customers without a clock live on ``app.clock.now()``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app import clock
from app.billing.errors import ClockBackwards
from app.billing.renewals import GenerationResult, generate_renewals
from app.db import write_transaction
from app.errors import NotFound
from app.outbox.service import record
from tables.accounts import Customer
from tables.clocks import TestClock


@dataclass(frozen=True, slots=True)
class ClockView:
    id: int
    name: str
    frozen_time: datetime


async def create_test_clock(name: str, frozen_time: datetime | None = None) -> ClockView:
    at = clock.as_utc(frozen_time) if frozen_time else clock.now()
    rows = await TestClock.insert(TestClock(name=name, frozen_time=at, created_at=clock.now())).returning(TestClock.id)
    return ClockView(int(rows[0]["id"]), name, at)


async def attach_test_clock(customer_id: int, clock_id: int | None) -> None:
    """Put a (test) customer on a clock, or back on real time with ``None``."""
    if clock_id is not None:
        await get_test_clock(clock_id)
    updated = (
        await Customer.update({Customer.test_clock: clock_id}).where(Customer.id == customer_id).returning(Customer.id)
    )
    if not updated:
        raise NotFound(f"There is no customer #{customer_id}.")


async def advance_test_clock(clock_id: int, to: datetime, *, actor: str, run_billing: bool = True) -> GenerationResult:
    """Move the clock forward to ``to`` and (by default) run renewal generation for its customers at once,
    instead of waiting for the next billing tick. Time never runs backwards. The returned invoice ids are
    committed and still to be charged (``app.billing.charging``). Staff's "advance" runs everything that
    falls due, in time order, charges and dunning included (``app.billing.timetravel``)."""
    await move_test_clock(clock_id, to, actor=actor)
    if not run_billing:
        return GenerationResult()
    return await generate_renewals(test_clock_id=clock_id)


async def move_test_clock(clock_id: int, to: datetime, *, actor: str) -> ClockView:
    """Set the clock's time to ``to`` (never earlier than it is) and record the move; returns where it was."""
    to = clock.as_utc(to)
    current = ensure_forward(await get_test_clock(clock_id), to)
    async with write_transaction():
        await TestClock.update({TestClock.frozen_time: to}).where(TestClock.id == clock_id)
        payload = {"from": current.frozen_time.isoformat(), "to": to.isoformat(), "actor": actor}
        await record("test_clock.advanced", "test_clock", clock_id, payload)
    return current


def ensure_forward(current: ClockView, to: datetime) -> ClockView:
    """``current``, or ClockBackwards when ``to`` is earlier: time never runs backwards."""
    if to < current.frozen_time:
        raise ClockBackwards(
            f"Test clock {current.name!r} is at {current.frozen_time:%Y-%m-%d %H:%M}; it only moves on."
        )
    return current


async def get_test_clock(clock_id: int) -> ClockView:
    row = (
        await TestClock.select(TestClock.id, TestClock.name, TestClock.frozen_time)
        .where(TestClock.id == clock_id)
        .first()
    )
    if row is None:
        raise NotFound(f"There is no test clock #{clock_id}.")
    return ClockView(row["id"], row["name"], clock.as_utc(row["frozen_time"]))
