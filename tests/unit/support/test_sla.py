"""Service-level targets per priority, in business hours: due, breached, met, and the queue's breach cutoffs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.settings import SettingsError, SlaSettings, load_settings
from app.support.sla import SlaPolicy, State, breach_cutoffs, describe, ticket_sla

# Mon-Fri 09:00-17:00 UTC; first response: urgent 1 h, high 4 h, normal 8 h, low 24 h; resolution 8/24/40/80 h.
POLICY = SlaPolicy.from_settings(SlaSettings())
MONDAY_10 = datetime(2026, 3, 9, 10, tzinfo=UTC)
MIN, HOUR = timedelta(minutes=1), timedelta(hours=1)


def sla(priority: str, created: datetime, now: datetime, *, status: str = "open",
        first_response_at: datetime | None = None, solved_at: datetime | None = None):  # type: ignore[no-untyped-def]  # fmt: skip
    return ticket_sla(POLICY, priority=priority, status=status, created_at=created, first_response_at=first_response_at,
                      solved_at=solved_at, now=now)  # fmt: skip


def test_a_new_ticket_is_due_in_business_hours() -> None:
    result = sla("high", MONDAY_10, MONDAY_10 + timedelta(hours=2))
    assert result.first_response.due_at == MONDAY_10 + timedelta(hours=4)
    assert result.first_response.state == State.running
    assert result.first_response.label == "due in 2 h"
    assert result.next is result.first_response
    assert not result.breached


def test_due_counts_business_time_left_not_clock_time() -> None:
    friday_4pm = datetime(2026, 3, 13, 16, tzinfo=UTC)
    result = sla("normal", friday_4pm, friday_4pm + timedelta(minutes=30))
    assert result.first_response.due_at == datetime(2026, 3, 16, 16, tzinfo=UTC)  # Monday: 1 h Friday, 7 h Monday
    assert result.first_response.label == "due in 7 h 30 min"
    saturday = sla("normal", friday_4pm, datetime(2026, 3, 14, 12, tzinfo=UTC))
    assert saturday.first_response.label == "due in 7 h"  # the weekend takes nothing off


def test_breached_when_past_due_and_met_when_done_in_time() -> None:
    late = sla("urgent", MONDAY_10, MONDAY_10 + timedelta(hours=3, minutes=30))
    assert late.first_response.state == State.breached
    assert late.first_response.label == "breached 2 h 30 min ago"
    assert late.breached
    answered = sla("urgent", MONDAY_10, MONDAY_10 + 5 * HOUR, first_response_at=MONDAY_10 + 50 * MIN)
    assert answered.first_response.state == State.met and answered.first_response.label == "met"
    assert answered.next is answered.resolution and answered.resolution.label == "due in 3 h"
    slow = sla("urgent", MONDAY_10, MONDAY_10 + timedelta(days=2), status="solved",
               first_response_at=MONDAY_10 + timedelta(hours=2), solved_at=MONDAY_10 + timedelta(hours=6))  # fmt: skip
    assert slow.first_response.label == "breached (1 h late)"
    assert slow.resolution.state == State.met


def test_a_customer_who_solved_it_before_anyone_answered_needs_no_first_response() -> None:
    solved = sla("low", MONDAY_10, MONDAY_10 + 9 * 24 * HOUR, status="closed", solved_at=MONDAY_10 + HOUR)
    assert solved.first_response.state == State.met
    assert solved.resolution.state == State.met
    reopened = sla("low", MONDAY_10, MONDAY_10 + 2 * HOUR, status="open", solved_at=MONDAY_10 + HOUR)
    assert reopened.resolution.state == State.running  # a reopened ticket is not solved


def test_breach_cutoffs_agree_with_each_ticket_s_own_state() -> None:
    """The queue filters breaches in SQL by creation time; that must name exactly the tickets whose own SLA says
    breached, at any moment: on the due instant itself, in closed hours and over a weekend."""
    for now in [MONDAY_10, MONDAY_10 + timedelta(hours=7), datetime(2026, 3, 14, 3, tzinfo=UTC),
                datetime(2026, 3, 16, 9, tzinfo=UTC), datetime(2026, 3, 13, 17, tzinfo=UTC)]:  # fmt: skip
        cutoffs = breach_cutoffs(POLICY, now)
        for minutes in range(0, 10 * 24 * 60, 37):
            created = now - timedelta(minutes=minutes)
            for priority, cut in cutoffs.items():
                own = sla(priority, created, now)
                assert (created <= cut.first_response) == (own.first_response.state == State.breached)
                assert (created <= cut.resolution) == (own.resolution.state == State.breached)


def test_describe_spans() -> None:
    assert [describe(timedelta(minutes=m)) for m in (0, 45, 60, 135, 26 * 60 + 5)] == [
        "0 min", "45 min", "1 h", "2 h 15 min", "26 h"
    ]  # fmt: skip


def test_settings_read_business_hours_zone_and_targets(tmp_path: Path) -> None:
    settings = load_settings({
        "VAR_DIR": str(tmp_path), "SECRET_KEY": "k" * 40, "SUPPORT_TIMEZONE": "Europe/Berlin",
        "SUPPORT_BUSINESS_HOURS": "08:30-18:00", "SUPPORT_BUSINESS_DAYS": "mon-thu,sat",
        "SUPPORT_SLA_FIRST_RESPONSE": "urgent:0.5,high:2,normal:4,low:8",
    }).sla  # fmt: skip
    assert (settings.timezone, settings.days, settings.opens_minute, settings.closes_minute) == (
        "Europe/Berlin", (0, 1, 2, 3, 5), 510, 1080
    )  # fmt: skip
    assert settings.first_response_minutes == {"urgent": 30, "high": 120, "normal": 240, "low": 480}
    assert settings.resolution_minutes == SlaSettings().resolution_minutes


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SUPPORT_TIMEZONE", "Mars/Olympus", "IANA time zone"),
        ("SUPPORT_BUSINESS_HOURS", "17:00-09:00", "open before it closes"),
        ("SUPPORT_BUSINESS_HOURS", "9-5", "hours like 09:00-17:00"),
        ("SUPPORT_BUSINESS_DAYS", "fri-mon", "run forward"),
        ("SUPPORT_BUSINESS_DAYS", "weekdays", "days like mon-fri"),
        ("SUPPORT_SLA_RESOLUTION", "urgent:4,high:8", "missing: normal, low"),
        ("SUPPORT_SLA_RESOLUTION", "urgent:soon,high:8,normal:9,low:10", "per priority"),
    ],
)
def test_settings_refuse_unusable_service_levels(tmp_path: Path, name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings({"VAR_DIR": str(tmp_path), "SECRET_KEY": "k" * 40, name: value})
