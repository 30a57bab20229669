"""Plan changes priced by the second (Stripe's semantics, DESIGN.md section 3): pure, time is an argument.

- Upgrade (same interval): takes effect at ``at``; a credit for the old plan's unused paid time and a charge
  for the new plan's remaining seconds of the current period, each line rounded once, half-even.
- Interval change (monthly <-> yearly): an upgrade with a new billing anchor at ``at``: credit the unused paid
  time, charge a full period of the new plan from ``at``.
- Downgrade (cheaper, same interval): scheduled for the period end (``pending_plan``); no money now.
- An interval change whose credit would exceed its charge (yearly -> monthly early in the year) is scheduled
  for the period end as well: Recurra keeps no customer credit balance to hold the difference (Stripe would).
- In a trial every change (up, down, interval) applies at once and moves no money: the trial runs on, on the
  new plan, to the same end, and the first bill at that end is the new plan's price on its interval.

A credit only ever gives back money that was paid: the unused share of ``Paid`` (what was paid for the current
plan's time in this period, from ``since`` to the period end), nothing when nothing was paid (a trial, a voided
or refunded period). The plan's price never stands in for a payment.

``plan_change`` is both the preview shown before the customer confirms and the source of the invoice lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from app.billing.errors import CurrencyMismatch, OutsidePeriod, PlanUnchanged
from app.billing.lines import LineDraft, LineKind, PlanTerms, prorated, subscription_line, total
from app.billing.periods import Period, first_period


class ChangeKind(StrEnum):
    upgrade = "upgrade"
    downgrade = "downgrade"
    interval_change = "interval_change"


@dataclass(frozen=True, slots=True)
class Paid:
    """Money paid for the current plan's time from ``since`` to the end of the current period (the line that
    bought it: a first invoice, a renewal, or the change that moved the subscription to this plan, less what
    credit notes gave back). All that a credit for unused time can return."""

    amount_minor: int
    since: datetime

    def __post_init__(self) -> None:
        if self.amount_minor < 0:
            raise ValueError("a payment is not negative")


@dataclass(frozen=True, slots=True)
class Current:
    """Where the subscription stands when the change is asked for."""

    period: Period
    anchor: datetime
    paid: Paid | None  # None: nothing was paid for this period (a trial, a voided or refunded bill)
    trial: bool = False  # the period is a free trial: free on every plan

    @classmethod
    def paid_in_full(cls, period: Period, anchor: datetime, amount_minor: int) -> Current:
        """A period bought whole at its start (a first invoice or a renewal)."""
        return cls(period, anchor, Paid(amount_minor, period.start))

    @classmethod
    def in_trial(cls, period: Period, anchor: datetime) -> Current:
        return cls(period, anchor, None, trial=True)


@dataclass(frozen=True, slots=True)
class PlanChange:
    kind: ChangeKind
    effective_at: datetime
    lines: tuple[LineDraft, ...]  # what is invoiced now (empty for a downgrade and for any change in a trial)
    billing_anchor: datetime  # after the change
    period: Period  # the period the subscription is in once the change takes effect
    next_bill_at: datetime
    next_bill_minor: int
    currency: str
    trial: bool = False  # made in a trial: it applies now, nothing is billed before the trial's end

    @property
    def due_now_minor(self) -> int:
        """May be negative (a credit) when an upgrade is cheaper for the rest of the period; the service
        decides what to do with a negative balance, the maths does not hide it."""
        return total(self.lines)

    @property
    def immediate(self) -> bool:
        """The plan changes at ``effective_at``, now; otherwise at the period end (``pending_plan``)."""
        return self.effective_at < self.period.end


def classify_change(old: PlanTerms, new: PlanTerms) -> ChangeKind:
    if old.plan_id == new.plan_id:
        raise PlanUnchanged("The subscription is already on this plan.")
    if old.currency != new.currency:
        raise CurrencyMismatch(f"Cannot move from a {old.currency} plan to a {new.currency} plan.")
    if old.interval != new.interval:
        return ChangeKind.interval_change
    return ChangeKind.downgrade if new.amount_minor < old.amount_minor else ChangeKind.upgrade


def unused_time_credit(old: PlanTerms, period: Period, paid: Paid | None, at: datetime) -> tuple[LineDraft, ...]:
    """The unused share of what was paid for ``old``'s time (by the second, from ``paid.since`` to the period
    end); no line at all when nothing was paid. Never more than was paid."""
    if paid is None or paid.amount_minor == 0:
        return ()
    bought = Period(min(paid.since, at), period.end)
    return (
        LineDraft(
            kind=LineKind.proration_credit,
            description=f"Unused time on {old.name} after {at:%b %-d, %Y}",
            amount_minor=-prorated(paid.amount_minor, bought.seconds_left(at), bought.seconds),
            unit_amount_minor=-old.amount_minor,
            currency=old.currency,
            plan_id=old.plan_id,
            period=Period(at, period.end),
        ),
    )


def remaining_time_charge(new: PlanTerms, period: Period, at: datetime) -> LineDraft:
    left = Period(at, period.end)
    return LineDraft(
        kind=LineKind.proration_charge,
        description=f"Remaining time on {new.name} after {at:%b %-d, %Y}",
        amount_minor=prorated(new.amount_minor, period.seconds_left(at), period.seconds),
        unit_amount_minor=new.amount_minor,
        currency=new.currency,
        plan_id=new.plan_id,
        period=left,
    )


def plan_change(old: PlanTerms, new: PlanTerms, current: Current, at: datetime) -> PlanChange:
    """What moving from ``old`` to ``new`` at ``at`` (inside the current period) costs now and next, and when."""
    kind = classify_change(old, new)
    period, anchor = current.period, current.anchor
    if not period.contains(at):
        raise OutsidePeriod("A plan change happens inside the current period.")
    if current.trial:
        return _in_trial(kind, new, current, at)
    if kind is ChangeKind.downgrade:
        return _at_period_end(kind, new, period, anchor)
    credit = unused_time_credit(old, period, current.paid, at)
    if kind is ChangeKind.interval_change:
        new_period = first_period(at, new.interval)
        lines = (*credit, subscription_line(new, new_period))
        if total(lines) < 0:
            return _at_period_end(kind, new, period, period.end)
        return PlanChange(
            kind=kind,
            effective_at=at,
            lines=lines,
            billing_anchor=at,
            period=new_period,
            next_bill_at=new_period.end,
            next_bill_minor=new.amount_minor,
            currency=new.currency,
        )
    return PlanChange(
        kind=kind,
        effective_at=at,
        lines=(*credit, remaining_time_charge(new, period, at)),
        billing_anchor=anchor,
        period=period,
        next_bill_at=period.end,
        next_bill_minor=new.amount_minor,
        currency=new.currency,
    )


def _in_trial(kind: ChangeKind, new: PlanTerms, current: Current, at: datetime) -> PlanChange:
    """Stripe's trial: the new plan from now, free until the trial's end, which stays the billing anchor; the
    renewal there bills the new plan's price on its own interval (an interval change included)."""
    return PlanChange(
        kind=kind,
        effective_at=at,
        lines=(),
        billing_anchor=current.anchor,
        period=current.period,
        next_bill_at=current.period.end,
        next_bill_minor=new.amount_minor,
        currency=new.currency,
        trial=True,
    )


def _at_period_end(kind: ChangeKind, new: PlanTerms, period: Period, anchor: datetime) -> PlanChange:
    """A change scheduled as ``pending_plan``: nothing now; the renewal at the period end bills the new plan."""
    return PlanChange(
        kind=kind,
        effective_at=period.end,
        lines=(),
        billing_anchor=anchor,
        period=period,
        next_bill_at=period.end,
        next_bill_minor=new.amount_minor,
        currency=new.currency,
    )
