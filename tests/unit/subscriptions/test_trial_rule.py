"""Who has had their free trial, under each TRIAL_ELIGIBILITY: the pure reading of a customer's history."""

from __future__ import annotations

import pytest

from app.subscriptions.trials import TrialHistory, TrialOffer

LIBRARY, COURSES = 1, 2


@pytest.mark.parametrize(
    ("policy", "tried", "library", "courses"),
    [
        ("once_per_product", set(), False, False),
        ("once_per_product", {LIBRARY}, True, False),
        ("once_per_customer", set(), False, False),
        ("once_per_customer", {LIBRARY}, True, True),
        ("always", {LIBRARY, COURSES}, False, False),
    ],
)
def test_had_trial(policy: str, tried: set[int], library: bool, courses: bool) -> None:
    history = TrialHistory(policy, frozenset(tried))  # type: ignore[arg-type]  # the settings' literal, as a str
    assert (history.had_trial(LIBRARY), history.had_trial(COURSES)) == (library, courses)


def test_an_offer_gives_the_plans_days_until_the_customer_has_had_a_trial() -> None:
    assert TrialOffer(plan_days=7, had_one=False).days == 7
    assert TrialOffer(plan_days=7, had_one=True).days == 0
    assert TrialOffer(plan_days=0, had_one=False).days == 0
