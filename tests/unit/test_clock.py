from datetime import UTC, datetime, timedelta, timezone

import pytest

from app import clock


def test_now_is_aware_utc() -> None:
    value = clock.now()
    assert value.tzinfo is not None
    assert value.utcoffset() == timedelta(0)


def test_frozen_clock_and_restore() -> None:
    instant = datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC)
    with clock.frozen_at(instant):
        assert clock.now() == instant
    assert clock.now() != instant


def test_other_zones_are_normalised_to_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    with clock.frozen_at(datetime(2026, 1, 1, 2, 0, tzinfo=plus_two)):
        assert clock.now() == datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
        assert clock.now().tzinfo == UTC


def test_naive_clocks_are_refused() -> None:
    with clock.use_clock(lambda: datetime(2026, 1, 1)), pytest.raises(ValueError, match="timezone-aware"):  # noqa: DTZ001
        clock.now()


def test_as_utc_reads_naive_storage_values_as_utc() -> None:
    assert clock.as_utc(datetime(2026, 5, 1, 12)) == datetime(2026, 5, 1, 12, tzinfo=UTC)  # noqa: DTZ001
