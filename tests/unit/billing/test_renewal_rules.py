"""What the billing run decides for one due subscription."""

from __future__ import annotations

from datetime import UTC, datetime

from app.billing.lines import LineKind, PlanTerms
from app.billing.periods import Interval, Period
from app.billing.renewal_rules import DueSubscription, Ending, Renewal, ScheduledPrice, decide
from app.subscriptions.states import Event, Status


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


PRO = PlanTerms(1, "Pro", 3000, "USD", Interval.of("month"))
BASIC = PlanTerms(2, "Basic", 1000, "USD", Interval.of("month"))
BASIC_YEARLY = PlanTerms(3, "Basic yearly", 10000, "USD", Interval.of("year"))


def due(**overrides: object) -> DueSubscription:
    values: dict[str, object] = {
        "id": 7, "status": Status.active, "plan_id": 1, "pending_plan_id": None,
        "billing_anchor": utc(2026, 1, 31), "period_end": utc(2026, 2, 28), "cancel_at_period_end": False,
    }  # fmt: skip
    values.update(overrides)
    return DueSubscription(**values)  # type: ignore[arg-type]


def test_renewal_invoices_the_next_period_from_the_anchor() -> None:
    outcome = decide(due(), PRO, None)
    assert isinstance(outcome, Renewal)
    assert outcome.period == Period(utc(2026, 2, 28), utc(2026, 3, 31))
    assert (outcome.line.kind, outcome.line.amount_minor, outcome.line.period) == (
        LineKind.subscription, 3000, outcome.period
    )  # fmt: skip
    assert (outcome.from_status, outcome.to_status, outcome.event) == (Status.active, Status.active, None)


def test_scheduled_downgrade_takes_effect_at_the_period_end() -> None:
    outcome = decide(due(pending_plan_id=2), PRO, BASIC)
    assert isinstance(outcome, Renewal)
    assert outcome.plan == BASIC
    assert outcome.plan_changed
    assert outcome.line.amount_minor == 1000
    assert outcome.billing_anchor == utc(2026, 1, 31)


def test_scheduled_interval_change_re_anchors_at_the_period_end() -> None:
    outcome = decide(due(pending_plan_id=3), PRO, BASIC_YEARLY)
    assert isinstance(outcome, Renewal)
    assert outcome.billing_anchor == utc(2026, 2, 28)
    assert outcome.period == Period(utc(2026, 2, 28), utc(2027, 2, 28))


def test_trial_end_activates_and_bills_the_first_period() -> None:
    outcome = decide(due(status=Status.trialing, billing_anchor=utc(2026, 2, 28)), PRO, None)
    assert isinstance(outcome, Renewal)
    assert (outcome.event, outcome.to_status) == (Event.trial_end, Status.active)
    assert outcome.period == Period(utc(2026, 2, 28), utc(2026, 3, 28))


def test_cancel_at_period_end_ends_without_an_invoice() -> None:
    outcome = decide(due(cancel_at_period_end=True, pending_plan_id=2), PRO, BASIC)
    assert outcome == Ending(7, Status.active, Status.canceled, Event.cancel)


def test_past_due_subscriptions_keep_renewing_as_stripe_does() -> None:
    outcome = decide(due(status=Status.past_due), PRO, None)
    assert isinstance(outcome, Renewal)
    assert outcome.to_status is Status.past_due


PRO_V2 = PlanTerms(4, "Pro", 3500, "USD", Interval.of("month"))
TO_PRO_V2 = ScheduledPrice(move_id=9, from_plan_id=1, plan=PRO_V2, effective_at=utc(2026, 3, 31))


def test_a_move_to_a_new_price_applies_at_its_renewal_and_not_before() -> None:
    before = decide(due(), PRO, None, TO_PRO_V2)  # the Feb 28 renewal: still the price signed up for
    assert isinstance(before, Renewal)
    assert (before.plan, before.line.amount_minor, before.price_move) == (PRO, 3000, None)
    at = decide(due(period_end=utc(2026, 3, 31)), PRO, None, TO_PRO_V2)
    assert isinstance(at, Renewal)
    assert (at.plan, at.line.amount_minor, at.price_move) == (PRO_V2, 3500, TO_PRO_V2)
    assert not at.plan_changed  # a new price of the same plan, not a plan change
    assert at.period == Period(utc(2026, 3, 31), utc(2026, 4, 30))
    assert at.billing_anchor == utc(2026, 1, 31)  # same interval: the grid stays
    late = decide(due(period_end=utc(2026, 4, 30)), PRO, None, TO_PRO_V2)  # a renewal past its date (paused)
    assert isinstance(late, Renewal) and late.price_move == TO_PRO_V2


def test_a_move_gives_way_to_a_downgrade_and_to_a_plan_left_since() -> None:
    downgraded = decide(due(pending_plan_id=2, period_end=utc(2026, 3, 31)), PRO, BASIC, TO_PRO_V2)
    assert isinstance(downgraded, Renewal)
    assert (downgraded.plan, downgraded.price_move) == (BASIC, None)
    moved_on = decide(due(plan_id=2, period_end=utc(2026, 3, 31)), BASIC, None, TO_PRO_V2)  # upgraded since
    assert isinstance(moved_on, Renewal)
    assert (moved_on.plan, moved_on.price_move) == (BASIC, None)
    assert isinstance(decide(due(cancel_at_period_end=True, period_end=utc(2026, 3, 31)), PRO, None, TO_PRO_V2),
                      Ending)  # fmt: skip
