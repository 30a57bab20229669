"""Period arithmetic from a billing anchor: month ends clamped and restored, leap years, half-open, UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.billing.periods import Interval, Period, add_months, boundary, first_period, next_boundary, period_at

MONTH = Interval.of("month")
YEAR = Interval.of("year")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_month_end_anchor_is_clamped_then_restored() -> None:
    anchor = utc(2026, 1, 31, 9, 30)
    ends = [boundary(anchor, MONTH, n) for n in range(1, 5)]
    assert ends == [utc(2026, 2, 28, 9, 30), utc(2026, 3, 31, 9, 30), utc(2026, 4, 30, 9, 30), utc(2026, 5, 31, 9, 30)]


def test_month_end_anchor_in_a_leap_year_lands_on_february_29() -> None:
    assert boundary(utc(2028, 1, 31), MONTH, 1) == utc(2028, 2, 29)
    assert boundary(utc(2028, 1, 30), MONTH, 1) == utc(2028, 2, 29)
    assert boundary(utc(2028, 1, 29), MONTH, 1) == utc(2028, 2, 29)
    assert boundary(utc(2028, 1, 28), MONTH, 1) == utc(2028, 2, 28)


def test_yearly_leap_day_anchor_clamps_to_february_28_and_returns_to_29() -> None:
    anchor = utc(2028, 2, 29)
    assert [boundary(anchor, YEAR, n) for n in range(1, 5)] == [
        utc(2029, 2, 28), utc(2030, 2, 28), utc(2031, 2, 28), utc(2032, 2, 29)
    ]  # fmt: skip


def test_next_boundary_after_a_clamped_end_restores_the_anchor_day() -> None:
    anchor = utc(2026, 1, 31)
    assert next_boundary(anchor, MONTH, utc(2026, 2, 28)) == utc(2026, 3, 31)


def test_periods_are_half_open() -> None:
    anchor = utc(2026, 1, 15)
    at_boundary = period_at(anchor, MONTH, utc(2026, 2, 15))
    assert at_boundary == Period(utc(2026, 2, 15), utc(2026, 3, 15))
    just_before = period_at(anchor, MONTH, utc(2026, 2, 15) - timedelta(microseconds=1))
    assert just_before == Period(utc(2026, 1, 15), utc(2026, 2, 15))
    assert at_boundary.contains(utc(2026, 2, 15))
    assert not just_before.contains(utc(2026, 2, 15))


def test_period_at_handles_the_time_of_day_inside_the_anchor_day() -> None:
    anchor = utc(2026, 3, 10, 18)
    assert period_at(anchor, MONTH, utc(2026, 4, 10, 17, 59)) == Period(utc(2026, 3, 10, 18), utc(2026, 4, 10, 18))
    assert period_at(anchor, MONTH, utc(2026, 4, 10, 18)) == Period(utc(2026, 4, 10, 18), utc(2026, 5, 10, 18))


def test_period_at_before_the_anchor_counts_backwards() -> None:
    assert period_at(utc(2026, 3, 31), MONTH, utc(2026, 3, 1)) == Period(utc(2026, 2, 28), utc(2026, 3, 31))


@pytest.mark.parametrize(
    ("interval", "end"),
    [
        (Interval.of("day"), utc(2026, 1, 2)),
        (Interval.of("day", 3), utc(2026, 1, 4)),
        (Interval.of("week"), utc(2026, 1, 8)),
        (Interval.of("week", 2), utc(2026, 1, 15)),
        (Interval.of("month", 3), utc(2026, 4, 1)),
        (Interval.of("month", 6), utc(2026, 7, 1)),
        (Interval.of("year"), utc(2027, 1, 1)),
        (Interval.of("year", 2), utc(2028, 1, 1)),
    ],
)
def test_every_unit_and_count(interval: Interval, end: datetime) -> None:
    assert first_period(utc(2026, 1, 1), interval) == Period(utc(2026, 1, 1), end)


def test_quarterly_from_a_month_end_restores_the_day() -> None:
    quarter = Interval.of("month", 3)
    anchor = utc(2025, 11, 30)
    assert [boundary(anchor, quarter, n) for n in range(1, 4)] == [utc(2026, 2, 28), utc(2026, 5, 30), utc(2026, 8, 30)]


def test_day_periods_have_no_dst_in_utc() -> None:
    # 2026-03-29 is the EU DST switch: in UTC a day is always 86,400 seconds.
    period = period_at(utc(2026, 3, 1), Interval.of("day"), utc(2026, 3, 29, 12))
    assert period.seconds == 86_400


def test_seconds_in_periods_of_different_months() -> None:
    assert first_period(utc(2026, 2, 1), MONTH).seconds == 28 * 86_400
    assert first_period(utc(2028, 2, 1), MONTH).seconds == 29 * 86_400
    assert first_period(utc(2026, 1, 1), YEAR).seconds == 365 * 86_400
    assert first_period(utc(2028, 1, 1), YEAR).seconds == 366 * 86_400


def test_add_months_across_years_both_ways() -> None:
    assert add_months(utc(2026, 12, 31), 2) == utc(2027, 2, 28)
    assert add_months(utc(2026, 3, 31), -1) == utc(2026, 2, 28)
    assert add_months(utc(2026, 1, 15), -13) == utc(2024, 12, 15)


def test_naive_or_non_utc_times_are_refused() -> None:
    with pytest.raises(ValueError, match="UTC"):
        boundary(datetime(2026, 1, 1), MONTH, 1)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="UTC"):
        Period(datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=2))), utc(2026, 2, 1))


def test_an_interval_counts_at_least_one_unit() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Interval.of("month", 0)


def test_seconds_left_is_clipped_to_the_period() -> None:
    period = Period(utc(2026, 1, 1), utc(2026, 1, 2))
    assert period.seconds_left(utc(2026, 1, 1, 12)) == 43_200
    assert period.seconds_left(utc(2025, 12, 1)) == 86_400
    assert period.seconds_left(utc(2026, 2, 1)) == 0
