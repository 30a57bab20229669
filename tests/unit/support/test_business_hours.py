"""Business-hours arithmetic: weekends, day boundaries, closing times, and DST in the desk's own zone."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.support.business_hours import (
    BusinessHours,
    add_business_time,
    business_time_between,
    latest_start_due_by,
)

H = timedelta(hours=1)
UTC_OFFICE = BusinessHours(zone=UTC, days=frozenset(range(5)), opens_minute=9 * 60, closes_minute=17 * 60)
NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def office(zone: ZoneInfo, opens: int = 9, closes: int = 17, days: range = range(5)) -> BusinessHours:
    return BusinessHours(zone=zone, days=frozenset(days), opens_minute=opens * 60, closes_minute=closes * 60)


def test_friday_afternoon_runs_over_the_weekend_to_monday() -> None:
    friday_4pm = utc(2026, 3, 6, 16)
    assert friday_4pm.weekday() == 4
    assert add_business_time(friday_4pm, 2 * H, UTC_OFFICE) == utc(2026, 3, 9, 10)
    assert business_time_between(friday_4pm, utc(2026, 3, 9, 10), UTC_OFFICE) == 2 * H


def test_a_start_outside_business_hours_counts_from_the_next_opening() -> None:
    assert add_business_time(utc(2026, 3, 7, 12), H, UTC_OFFICE) == utc(2026, 3, 9, 10)  # Saturday noon
    assert add_business_time(utc(2026, 3, 9, 7), H, UTC_OFFICE) == utc(2026, 3, 9, 10)  # Monday before opening
    assert add_business_time(utc(2026, 3, 9, 18), H, UTC_OFFICE) == utc(2026, 3, 10, 10)  # Monday after closing
    assert business_time_between(utc(2026, 3, 7), utc(2026, 3, 8, 23, 59), UTC_OFFICE) == timedelta(0)


def test_a_target_that_ends_at_closing_time_is_due_at_closing_not_next_morning() -> None:
    assert add_business_time(utc(2026, 3, 9, 15), 2 * H, UTC_OFFICE) == utc(2026, 3, 9, 17)
    assert add_business_time(utc(2026, 3, 9, 15), 2 * H + timedelta(minutes=1), UTC_OFFICE) == utc(2026, 3, 10, 9, 1)


def test_long_targets_cross_day_and_week_boundaries() -> None:
    monday_9am = utc(2026, 3, 9, 9)
    assert add_business_time(monday_9am, 24 * H, UTC_OFFICE) == utc(2026, 3, 11, 17)  # three full days
    assert add_business_time(monday_9am, 40 * H, UTC_OFFICE) == utc(2026, 3, 13, 17)  # the whole week
    assert add_business_time(monday_9am, 41 * H, UTC_OFFICE) == utc(2026, 3, 16, 10)  # into the next
    assert business_time_between(monday_9am, utc(2026, 3, 16, 10), UTC_OFFICE) == 41 * H


def test_new_york_business_hours_follow_the_clocks_across_the_march_change() -> None:
    """The US moved to daylight time on Sunday 8 March 2026: Friday 16:00 EST is 21:00Z, Monday 10:00 EDT is
    14:00Z. UTC arithmetic with Friday's offset would say 15:00Z."""
    hours = office(NEW_YORK)
    friday = datetime(2026, 3, 6, 16, tzinfo=NEW_YORK)
    due = add_business_time(friday, 2 * H, hours)
    assert due == utc(2026, 3, 9, 14)
    assert due.astimezone(NEW_YORK).hour == 10
    assert business_time_between(friday, due, hours) == 2 * H


def test_a_window_the_spring_change_falls_into_is_an_hour_shorter() -> None:
    """Berlin skips 02:00-03:00 on Sunday 29 March 2026: 01:00-04:00 on the wall clock is two real hours."""
    hours = office(BERLIN, opens=1, closes=4, days=range(7))
    opens = datetime(2026, 3, 29, 1, tzinfo=BERLIN)
    assert business_time_between(opens, opens + 12 * H, hours) == 2 * H
    assert add_business_time(opens, 2 * H, hours) == datetime(2026, 3, 29, 4, tzinfo=BERLIN)
    assert add_business_time(opens, 3 * H, hours) == datetime(2026, 3, 30, 2, tzinfo=BERLIN)


def test_a_window_the_autumn_change_falls_into_is_an_hour_longer() -> None:
    """Berlin repeats 02:00-03:00 on Sunday 25 October 2026: 01:00-04:00 is four real hours."""
    hours = office(BERLIN, opens=1, closes=4, days=range(7))
    opens = datetime(2026, 10, 25, 1, tzinfo=BERLIN)
    assert business_time_between(opens, opens + 12 * H, hours) == 4 * H
    assert add_business_time(opens, 4 * H, hours) == utc(2026, 10, 25, 3)  # 04:00 CET


def test_round_the_clock_days_have_23_and_25_hours_on_change_days() -> None:
    always = BusinessHours(zone=BERLIN, days=frozenset(range(7)), opens_minute=0, closes_minute=24 * 60)
    march = datetime(2026, 3, 29, tzinfo=BERLIN)
    october = datetime(2026, 10, 25, tzinfo=BERLIN)
    assert business_time_between(march, datetime(2026, 3, 30, tzinfo=BERLIN), always) == 23 * H
    assert business_time_between(october, datetime(2026, 10, 26, tzinfo=BERLIN), always) == 25 * H


def test_a_local_day_is_its_own_even_when_utc_says_otherwise() -> None:
    """Monday 00:30 in Auckland is Sunday in UTC: it is a business day there all the same."""
    auckland = ZoneInfo("Pacific/Auckland")
    hours = BusinessHours(zone=auckland, days=frozenset({0}), opens_minute=0, closes_minute=60)
    monday = datetime(2026, 3, 9, 0, 30, tzinfo=auckland)
    assert monday.astimezone(UTC).weekday() == 6
    assert add_business_time(monday, timedelta(minutes=30), hours) == datetime(2026, 3, 9, 1, tzinfo=auckland)


CONFIGS = [
    UTC_OFFICE,
    office(NEW_YORK),
    office(BERLIN, opens=1, closes=4, days=range(7)),
    BusinessHours(zone=BERLIN, days=frozenset({0, 2, 5}), opens_minute=0, closes_minute=24 * 60),
]


@pytest.mark.parametrize("hours", CONFIGS, ids=["utc-office", "new-york", "berlin-night", "berlin-mixed"])
def test_latest_start_due_by_is_the_exact_cutoff_of_add_around_both_changes(hours: BusinessHours) -> None:
    """Whatever starts at or before ``latest_start_due_by(end, T)`` is due by ``end``, nothing later is; and ``T``
    of business time lies between a start and its due instant. Checked at random instants (fixed seed) around
    both of 2026's DST changes, on quarter-hour and window edges too."""
    rng = random.Random(11)
    for change in (utc(2026, 3, 8, 12), utc(2026, 10, 25, 1)):
        edges = [change + timedelta(minutes=30 * k) for k in range(-100, 100)]
        starts = edges + [change + timedelta(seconds=rng.randint(-9 * 86400, 9 * 86400)) for _ in range(100)]
        for allowed in (timedelta(minutes=1), H, 2 * H, 8 * H, 24 * H):
            ends = [change + timedelta(hours=rng.randint(-100, 200), minutes=rng.choice([0, 30])) for _ in range(3)]
            for end in ends:
                cutoff = latest_start_due_by(end, allowed, hours)
                for start in starts:
                    due = add_business_time(start, allowed, hours)
                    assert (start <= cutoff) == (due <= end), (start, end, allowed)
                    assert business_time_between(start, due, hours) == allowed


def test_naive_instants_and_closed_weeks_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_time(datetime(2026, 3, 9, 9), H, UTC_OFFICE)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="at least one weekday"):
        BusinessHours(zone=UTC, days=frozenset(), opens_minute=0, closes_minute=60)
    with pytest.raises(ValueError, match="open before they close"):
        BusinessHours(zone=UTC, days=frozenset({0}), opens_minute=600, closes_minute=600)
    with pytest.raises(ValueError, match="not negative"):
        add_business_time(utc(2026, 3, 9), -H, UTC_OFFICE)
