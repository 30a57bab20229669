"""Proration by seconds: credit for the unused share of what was paid, charge for the new plan's remaining
time, each line rounded once, half-even; interval changes re-anchor; downgrades wait for the period end; in a
trial every change applies at once and bills nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.billing.errors import CurrencyMismatch, OutsidePeriod, PlanUnchanged
from app.billing.lines import LineKind, PlanTerms, prorated
from app.billing.periods import Interval, Period
from app.billing.proration import ChangeKind, Current, Paid, classify_change, plan_change


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def terms(plan_id: int, amount: int, unit: str = "month", currency: str = "USD") -> PlanTerms:
    return PlanTerms(plan_id, f"Plan {plan_id}", amount, currency, Interval.of(unit))


BASIC, PRO, YEARLY = terms(1, 1000), terms(2, 3000), terms(3, 10000, "year")
APRIL = Period(utc(2026, 4, 1), utc(2026, 5, 1))  # 30 days


def paid(plan: PlanTerms, period: Period = APRIL) -> Current:
    """A period bought whole at its start at ``plan``'s price (a first invoice or a renewal, paid)."""
    return Current.paid_in_full(period, period.start, plan.amount_minor)


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
    change = plan_change(BASIC, PRO, paid(BASIC), utc(2026, 4, 16))
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
    change = plan_change(old, new, paid(old, period), period.start + timedelta(seconds=3))
    # 1 of 4 seconds left: credit 10/4 = 2.5 -> 2 (half-even, not 3), charge 30/4 = 7.5 -> 8.
    assert [line.amount_minor for line in change.lines] == [-2, 8]
    assert change.due_now_minor == 6


def test_a_change_at_the_very_start_credits_and_charges_the_whole_period() -> None:
    change = plan_change(BASIC, PRO, paid(BASIC), APRIL.start)
    assert [line.amount_minor for line in change.lines] == [-1000, 3000]


def test_downgrade_is_scheduled_for_the_period_end_without_money() -> None:
    change = plan_change(PRO, BASIC, paid(PRO), utc(2026, 4, 10))
    assert change.kind is ChangeKind.downgrade
    assert change.lines == ()
    assert change.due_now_minor == 0
    assert not change.immediate
    assert change.effective_at == change.next_bill_at == utc(2026, 5, 1)
    assert change.next_bill_minor == 1000


def test_interval_change_is_an_upgrade_with_a_new_anchor_now() -> None:
    at = utc(2026, 4, 16)
    change = plan_change(BASIC, YEARLY, paid(BASIC), at)
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
    change = plan_change(YEARLY, BASIC, paid(YEARLY, year), utc(2026, 2, 1))  # credit ~9150 > one month's 1000
    assert change.kind is ChangeKind.interval_change
    assert not change.immediate
    assert change.effective_at == utc(2027, 1, 1)
    assert change.billing_anchor == utc(2027, 1, 1)
    assert change.next_bill_minor == 1000


def test_yearly_to_monthly_late_in_the_year_is_immediate() -> None:
    year = Period(utc(2026, 1, 1), utc(2027, 1, 1))
    at = utc(2026, 12, 29)  # 3 of 365 days left: credit 10000*3/365 = 82.19 -> 82
    change = plan_change(YEARLY, BASIC, paid(YEARLY, year), at)
    assert [line.amount_minor for line in change.lines] == [-82, 1000]
    assert change.billing_anchor == at


def test_classification() -> None:
    assert classify_change(BASIC, PRO) is ChangeKind.upgrade
    assert classify_change(PRO, BASIC) is ChangeKind.downgrade
    assert classify_change(BASIC, terms(9, 1000)) is ChangeKind.upgrade  # same price, other features: now
    assert classify_change(BASIC, YEARLY) is ChangeKind.interval_change


def test_refusals_have_stable_codes() -> None:
    with pytest.raises(PlanUnchanged) as same:
        plan_change(BASIC, BASIC, paid(BASIC), utc(2026, 4, 2))
    assert same.value.code == "plan_unchanged"
    with pytest.raises(CurrencyMismatch):
        plan_change(BASIC, terms(4, 3000, currency="EUR"), paid(BASIC), utc(2026, 4, 2))
    with pytest.raises(OutsidePeriod):
        plan_change(BASIC, PRO, paid(BASIC), APRIL.end)  # the end belongs to the next period


# A trial: [Apr 1, Apr 8), the anchor at its end (paid periods count from there), nothing paid.
TRIAL = Current.in_trial(Period(utc(2026, 4, 1), utc(2026, 4, 8)), utc(2026, 4, 8))


@pytest.mark.parametrize(
    ("old", "new", "kind"),
    [(BASIC, PRO, ChangeKind.upgrade), (PRO, BASIC, ChangeKind.downgrade), (BASIC, YEARLY, ChangeKind.interval_change),
     (YEARLY, BASIC, ChangeKind.interval_change)],
)  # fmt: skip
def test_any_change_in_a_trial_applies_now_bills_nothing_and_keeps_the_trial_end(
    old: PlanTerms, new: PlanTerms, kind: ChangeKind
) -> None:
    at = utc(2026, 4, 3, 12)
    change = plan_change(old, new, TRIAL, at)
    assert (change.kind, change.trial, change.immediate) == (kind, True, True)
    assert change.lines == ()
    assert change.due_now_minor == 0
    assert change.effective_at == at
    # The trial runs on to the same end, which stays the anchor; the bill there is the new plan's price (the
    # renewal counts the new plan's interval from that anchor, so a yearly plan bills a year).
    assert (change.period, change.billing_anchor) == (TRIAL.period, utc(2026, 4, 8))
    assert (change.next_bill_at, change.next_bill_minor) == (utc(2026, 4, 8), new.amount_minor)


def test_nothing_paid_means_nothing_credited() -> None:
    """A period whose bill was voided or refunded: the new plan's time is charged, the old plan's not credited."""
    unpaid = Current(APRIL, APRIL.start, paid=None)
    upgrade = plan_change(BASIC, PRO, unpaid, utc(2026, 4, 16))
    assert [(line.kind, line.amount_minor) for line in upgrade.lines] == [(LineKind.proration_charge, 1500)]
    yearly = plan_change(BASIC, YEARLY, unpaid, utc(2026, 4, 16))
    assert [(line.kind, line.amount_minor) for line in yearly.lines] == [(LineKind.subscription, 10000)]
    assert not plan_change(PRO, BASIC, unpaid, utc(2026, 4, 16)).immediate  # a downgrade still waits


def test_time_bought_mid_period_is_credited_at_the_rate_it_was_paid() -> None:
    """A second change in the period: the first one's charge line bought Pro from Apr 16 for 1500; on Apr 24,
    7 of those 15 days are unused."""
    after_upgrade = Current(APRIL, APRIL.start, Paid(1500, utc(2026, 4, 16)))
    change = plan_change(PRO, terms(5, 6000), after_upgrade, utc(2026, 4, 24))
    credit, charge = change.lines
    assert (credit.amount_minor, charge.amount_minor) == (-700, 1400)  # 1500 * 7/15; 6000 * 7/30


def test_a_partly_refunded_period_credits_only_what_is_still_paid() -> None:
    refunded_half = Current(APRIL, APRIL.start, Paid(500, APRIL.start))  # Basic's 1000, 500 given back
    change = plan_change(BASIC, PRO, refunded_half, utc(2026, 4, 16))
    assert change.lines[0].amount_minor == -250


def test_a_period_stretched_by_a_pause_never_credits_more_than_was_paid() -> None:
    """Paid 1000 for April, paused 10 days: the period now ends May 11. Its 1000 is spread over the stretched
    period (what the charge side counts too), so the credit stays within the unused share of the payment."""
    stretched = Period(utc(2026, 4, 1), utc(2026, 5, 11))
    change = plan_change(BASIC, PRO, Current(stretched, utc(2026, 5, 11), Paid(1000, stretched.start)), utc(2026, 5, 1))
    credit, charge = change.lines
    assert (credit.amount_minor, charge.amount_minor) == (-250, 750)  # 10 of the 40 days left
    assert -credit.amount_minor <= 1000 * 10 // 30  # within the unused share of April's payment


def _paid_situations() -> list[Current]:
    return [
        TRIAL,
        Current(APRIL, APRIL.start, None),
        paid(BASIC),
        paid(PRO),
        Current(APRIL, APRIL.start, Paid(1, APRIL.start)),
        Current(APRIL, APRIL.start, Paid(2999, utc(2026, 4, 20))),
        Current(Period(utc(2026, 4, 1), utc(2026, 5, 20)), utc(2026, 5, 20), Paid(1000, utc(2026, 4, 1))),
    ]


@pytest.mark.parametrize("current", _paid_situations())
@pytest.mark.parametrize(
    ("old", "new"), [(BASIC, PRO), (PRO, BASIC), (BASIC, YEARLY), (YEARLY, BASIC), (PRO, terms(9, 3000))]
)
def test_a_credit_never_gives_back_more_than_the_unused_share_of_what_was_paid(
    current: Current, old: PlanTerms, new: PlanTerms
) -> None:
    """Every plan-change path, every way the period was (not) paid, many instants: the credit lines sum to at
    most what was paid for the time after the change, and to nothing when nothing was paid."""
    period = current.period
    for step in range(0, period.seconds, period.seconds // 17):
        at = period.start + timedelta(seconds=step)
        change = plan_change(old, new, current, at)
        credited = -sum(line.amount_minor for line in change.lines if line.kind is LineKind.proration_credit)
        if current.paid is None:
            assert credited == 0
            continue
        since = min(current.paid.since, at)
        unused_share = current.paid.amount_minor * (period.end - at) / (period.end - since)
        assert 0 <= credited <= current.paid.amount_minor
        assert credited <= unused_share + 0.5  # one rounding, half-even, at the line
