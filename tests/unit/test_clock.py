import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from piccolo.columns.defaults.timestamptz import TimestamptzNow

from app import clock
from app.settings import SettingsError, TodayOverride, load_settings

ROOT = Path(__file__).resolve().parents[2]


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


def test_a_chosen_today_moves_the_system_clock_by_whole_days() -> None:
    leap_day = TodayOverride(date(2028, 2, 29), counted_from=date(2026, 12, 1))
    assert leap_day.shift(real_today=date(2026, 12, 2)) == timedelta(days=455)  # counted from the run's first day
    assert TodayOverride(date(2027, 1, 1)).shift(real_today=date(2026, 12, 1)) == timedelta(days=31)
    assert TodayOverride(date(2026, 11, 30)).shift(real_today=date(2026, 12, 1)) == timedelta(days=-1)


def test_piccolo_row_defaults_read_recurra_s_clock() -> None:
    import app.db  # noqa: F401 - installs the default

    instant = datetime(2027, 2, 28, 23, 59, 59, tzinfo=UTC)
    with clock.frozen_at(instant):
        assert TimestamptzNow().python() == instant


def _clock_in_a_new_process(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    script = "from app import clock; print(clock.shift().days, clock.now().date(), clock.real_now().date())"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RECURRA_")} | {"VAR_DIR": str(tmp_path)}
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=environ | env, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip


def test_the_chosen_day_reaches_every_process_through_the_environment(tmp_path: Path) -> None:
    real_today = clock.real_now().date()
    run = _clock_in_a_new_process(
        tmp_path, RECURRA_ENV="test", RECURRA_TEST_TODAY="2028-02-29", RECURRA_TEST_TODAY_FROM=real_today.isoformat()
    )
    assert run.returncode == 0, run.stderr
    shift_days, today, its_real_today = run.stdout.split()
    assert int(shift_days) == (date(2028, 2, 29) - real_today).days
    assert date.fromisoformat(today) - date.fromisoformat(its_real_today) == timedelta(days=int(shift_days))
    untouched = _clock_in_a_new_process(tmp_path, RECURRA_ENV="test")
    assert untouched.returncode == 0, untouched.stderr
    assert untouched.stdout.split()[0] == "0"


def test_production_refuses_a_chosen_day(tmp_path: Path) -> None:
    production = {"RECURRA_ENV": "production", "SECRET_KEY": "k" * 40, "SMTP_URL": "smtp://mail:25",
                  "PAYPAL_CLIENT_ID": "id", "PAYPAL_CLIENT_SECRET": "secret"}  # fmt: skip
    assert load_settings({**production, "VAR_DIR": str(tmp_path)}).today_override is None
    with pytest.raises(SettingsError, match="production refuses it"):
        load_settings({**production, "VAR_DIR": str(tmp_path), "RECURRA_TEST_TODAY": "2027-02-28"})
    with pytest.raises(SettingsError, match="production refuses it"):  # real money, whatever RECURRA_ENV says
        load_settings({"VAR_DIR": str(tmp_path), "RECURRA_TEST_TODAY": "2027-02-28", "PAYPAL_MODE": "live",
                       "PAYPAL_CLIENT_ID": "id", "PAYPAL_CLIENT_SECRET": "secret"})  # fmt: skip
    with pytest.raises(SettingsError, match="RECURRA_TEST_TODAY must be a date"):
        load_settings({"VAR_DIR": str(tmp_path), "RECURRA_TEST_TODAY": "tomorrow"})
    demo = load_settings({"VAR_DIR": str(tmp_path), "RECURRA_TEST_TODAY": "2027-02-28"})
    assert demo.today_override == TodayOverride(date(2027, 2, 28))
    # A process started that way stops before its clock ever ticks.
    run = _clock_in_a_new_process(tmp_path, **production, RECURRA_TEST_TODAY="2027-02-28")
    assert run.returncode != 0 and "production refuses it" in run.stderr
