"""Proration by seconds: credit for the old plan's unused time, charge for the new plan's remaining time,
each line rounded once, half-even; interval changes re-anchor; downgrades wait for the period end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.billing.errors import CurrencyMismatch, OutsidePeriod, PlanUnchanged
from app.billing.lines import LineKind, PlanTerms, prorated
from app.billing.periods import Interval, Period
from app.billing.proration import ChangeKind, classify_change, plan_change


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def terms(plan_id: int, amount: int, unit: str = "month", currency: str = "USD") -> PlanTerms:
    return PlanTerms(plan_id, f"Plan {plan_id}", amount, currency, Interval.of(unit))


BASIC, PRO, YEARLY = terms(1, 1000), terms(2, 3000), terms(3, 10000, "year")
APRIL = Period(utc(2026, 4, 1), utc(2026, 5, 1))  # 30 days


@pytest.mark.parametrize(
    ("amount", "part", "whole", "expected"),
    [(1, 1, 2, 0), (3, 1, 2, 2), (5, 1, 2, 2), (7, 1, 2, 4), (1000, 1, 3, 333), (2000, 2, 3, 1333), (999, 0, 10, 0)],
)
def test_prorated_rounds_half_even(amount: int, part: int, whole: int, expected: int) -> None:
    assert prorated(amount, part, whole) == expected


def test_prorated_refuses_a_part_outside_the_whole() -> None:
    with pytest.raises(ValueError, match="within"):
        prorated(100, 5, 4)


def test_upgrade_halfway_credits_half_the_old_and_charges_half_the_new() -> None:
    change = plan_change(BASIC, PRO, APRIL, APRIL.start, utc(2026, 4, 16))
    assert change.kind is ChangeKind.upgrade
    credit, charge = change.lines
    assert (credit.kind, credit.amount_minor, credit.plan_id) == (LineKind.proration_credit, -500, 1)
    assert (charge.kind, charge.amount_minor, charge.plan_id) == (LineKind.proration_charge, 1500, 2)
    assert credit.period == charge.period == Period(utc(2026, 4, 16), utc(2026, 5, 1))
    assert change.due_now_minor == 1000
    assert change.effective_at == utc(2026, 4, 16)
    assert (change.next_bill_at, change.next_bill_minor) == (utc(2026, 5, 1), 3000)
    assert change.billing_anchor == APRIL.start
    assert change.immediate


def test_each_line_is_rounded_once_half_even_by_the_second() -> None:
    period = Period(utc(2026, 1, 1), utc(2026, 1, 1) + timedelta(seconds=4))
    old, new = terms(1, 10, "day"), terms(2, 30, "day")
    change = plan_change(old, new, period, period.start, period.start + timedelta(seconds=3))
    # 1 of 4 seconds left: credit 10/4 = 2.5 -> 2 (half-even, not 3), charge 30/4 = 7.5 -> 8.
    assert [line.amount_minor for line in change.lines] == [-2, 8]
    assert change.due_now_minor == 6


def test_a_change_at_the_very_start_credits_and_charges_the_whole_period() -> None:
    change = plan_change(BASIC, PRO, APRIL, APRIL.start, APRIL.start)
    assert [line.amount_minor for line in change.lines] == [-1000, 3000]


def test_downgrade_is_scheduled_for_the_period_end_without_money() -> None:
    change = plan_change(PRO, BASIC, APRIL, APRIL.start, utc(2026, 4, 10))
    assert change.kind is ChangeKind.downgrade
    assert change.lines == ()
    assert change.due_now_minor == 0
    assert not change.immediate
    assert change.effective_at == change.next_bill_at == utc(2026, 5, 1)
    assert change.next_bill_minor == 1000


def test_interval_change_is_an_upgrade_with_a_new_anchor_now() -> None:
    at = utc(2026, 4, 16)
    change = plan_change(BASIC, YEARLY, APRIL, APRIL.start, at)
    assert change.kind is ChangeKind.interval_change
    credit, year = change.lines
    assert credit.amount_minor == -500
    assert (year.kind, year.amount_minor, year.period) == (LineKind.subscription, 10000, Period(at, utc(2027, 4, 16)))
    assert change.billing_anchor == at
    assert change.period == Period(at, utc(2027, 4, 16))
    assert change.due_now_minor == 9500
    assert (change.next_bill_at, change.next_bill_minor) == (utc(2027, 4, 16), 10000)


def test_yearly_to_monthly_early_in_the_year_waits_for_the_period_end() -> None:
    year = Period(utc(2026, 1, 1), utc(2027, 1, 1))
    change = plan_change(YEARLY, BASIC, year, year.start, utc(2026, 2, 1))  # credit ~9150 > one month's 1000
    assert change.kind is ChangeKind.interval_change
    assert not change.immediate
    assert change.effective_at == utc(2027, 1, 1)
    assert change.billing_anchor == utc(2027, 1, 1)
    assert change.next_bill_minor == 1000


def test_yearly_to_monthly_late_in_the_year_is_immediate() -> None:
    year = Period(utc(2026, 1, 1), utc(2027, 1, 1))
    at = utc(2026, 12, 29)  # 3 of 365 days left: credit 10000*3/365 = 82.19 -> 82
    change = plan_change(YEARLY, BASIC, year, year.start, at)
    assert [line.amount_minor for line in change.lines] == [-82, 1000]
    assert change.billing_anchor == at


def test_classification() -> None:
    assert classify_change(BASIC, PRO) is ChangeKind.upgrade
    assert classify_change(PRO, BASIC) is ChangeKind.downgrade
    assert classify_change(BASIC, terms(9, 1000)) is ChangeKind.upgrade  # same price, other features: now
    assert classify_change(BASIC, YEARLY) is ChangeKind.interval_change


def test_refusals_have_stable_codes() -> None:
    with pytest.raises(PlanUnchanged) as same:
        plan_change(BASIC, BASIC, APRIL, APRIL.start, utc(2026, 4, 2))
    assert same.value.code == "plan_unchanged"
    with pytest.raises(CurrencyMismatch):
        plan_change(BASIC, terms(4, 3000, currency="EUR"), APRIL, APRIL.start, utc(2026, 4, 2))
    with pytest.raises(OutsidePeriod):
        plan_change(BASIC, PRO, APRIL, APRIL.start, APRIL.end)  # the end belongs to the next period
