"""Times selected by raw SQL come back as aware UTC datetimes whatever the engine handed over."""

from datetime import UTC, datetime, timedelta, timezone

from app.db import read_time

INSTANT = datetime(2028, 2, 29, 23, 59, 59, 500000, tzinfo=UTC)


def test_sqlite_text_of_a_computed_time() -> None:
    # What SQLite returns for COALESCE(tc.frozen_time, {}): the text Piccolo stored (str() of an aware datetime).
    assert read_time(str(INSTANT)) == INSTANT
    assert read_time("2028-02-29 23:59:59+00:00") == INSTANT.replace(microsecond=0)


def test_datetimes_from_either_engine() -> None:
    assert read_time(INSTANT) == INSTANT  # PostgreSQL
    assert read_time(INSTANT.replace(tzinfo=None)) == INSTANT  # a plain SQLite column: naive, meaning UTC
    assert read_time(INSTANT.astimezone(timezone(timedelta(hours=2)))).tzinfo == UTC
