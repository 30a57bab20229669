"""The dunning schedule and its settings: retries counted from the due date, then nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.billing.dunning import next_attempt_at
from app.settings import SettingsError, load_settings

DUE = datetime(2026, 2, 28, 23, 30, tzinfo=UTC)


def test_retries_follow_the_days_after_the_due_date_then_stop() -> None:
    days = (1, 3, 5)
    assert [next_attempt_at(DUE, n, days) for n in (1, 2, 3, 4)] == [
        DUE + timedelta(days=1), DUE + timedelta(days=3), DUE + timedelta(days=5), None,
    ]  # fmt: skip
    assert next_attempt_at(DUE, 1, ()) is None  # no retries configured: the first failure is the last


def env(**values: str) -> dict[str, str]:
    return {"RECURRA_ENV": "test", "SECRET_KEY": "k" * 40, **values}


def test_dunning_settings_default_and_parse() -> None:
    default = load_settings(env()).billing
    assert (default.dunning_retry_days, default.dunning_final_action) == ((1, 3, 5), "unpaid")
    assert (default.renewal_reminder_days, default.trial_reminder_days) == (7, 3)
    custom = load_settings(env(DUNNING_RETRY_DAYS="2, 4", DUNNING_FINAL_ACTION="cancel")).billing
    assert (custom.dunning_retry_days, custom.dunning_final_action) == ((2, 4), "cancel")
    assert load_settings(env(DUNNING_RETRY_DAYS="none")).billing.dunning_retry_days == ()


@pytest.mark.parametrize(
    ("name", "value"),
    [("DUNNING_RETRY_DAYS", "3,1"), ("DUNNING_RETRY_DAYS", "1,x"), ("DUNNING_RETRY_DAYS", "0"),
     ("DUNNING_FINAL_ACTION", "forgive"), ("RENEWAL_REMINDER_DAYS", "0")],
)  # fmt: skip
def test_bad_dunning_settings_are_refused(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings(env(**{name: value}))
