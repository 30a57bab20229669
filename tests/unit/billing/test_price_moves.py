"""From which renewal a move to a new price applies: the first one at least the notice period away."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.billing.periods import Interval, boundary
from app.billing.price_moves import move_date

MONTH = Interval.of("month")
ANCHOR = datetime(2027, 1, 31, 9, tzinfo=UTC)  # a month-end anchor: Feb 28, Mar 31, Apr 30, ...


def renewal(n: int, interval: Interval = MONTH) -> datetime:
    return boundary(ANCHOR, interval, n)


def test_the_current_period_end_when_it_is_far_enough() -> None:
    assert move_date(renewal(1), ANCHOR, MONTH, renewal(1) - timedelta(days=20)) == renewal(1)
    assert move_date(renewal(1), ANCHOR, MONTH, renewal(1)) == renewal(1)  # exactly the notice period away


def test_else_the_first_later_renewal_on_the_subscription_s_own_grid() -> None:
    assert move_date(renewal(1), ANCHOR, MONTH, renewal(1) + timedelta(seconds=1)) == renewal(2)
    assert move_date(renewal(1), ANCHOR, MONTH, renewal(2)) == renewal(2)
    assert move_date(renewal(1), ANCHOR, MONTH, renewal(2) + timedelta(days=1)) == renewal(3)
    assert renewal(3) == datetime(2027, 4, 30, 9, tzinfo=UTC)  # the month end restored, not Mar 28 + a month
    week = Interval.of("week")
    assert move_date(renewal(1, week), ANCHOR, week, renewal(1, week) + timedelta(days=30)) == renewal(6, week)
