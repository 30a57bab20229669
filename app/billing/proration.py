"""Plan changes priced by the second (Stripe's semantics, DESIGN.md section 3): pure, time is an argument.

- Upgrade (same interval): takes effect at ``at``; a credit for the old plan's unused seconds and a charge for
  the new plan's remaining seconds of the current period, each line rounded once, half-even.
- Interval change (monthly <-> yearly): an upgrade with a new billing anchor at ``at``: credit the unused
  time, charge a full period of the new plan from ``at``.
- Downgrade (cheaper, same interval): scheduled for the period end (``pending_plan``); no money now.
- An interval change whose credit would exceed its charge (yearly -> monthly early in the year) is scheduled
  for the period end as well: Recurra keeps no customer credit balance to hold the difference (Stripe would).

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
class PlanChange:
    kind: ChangeKind
    effective_at: datetime
    lines: tuple[LineDraft, ...]  # what is invoiced now (empty for a downgrade)
    billing_anchor: datetime  # after the change
    period: Period  # the period the subscription is in once the change takes effect
    next_bill_at: datetime
    next_bill_minor: int
    currency: str

    @property
    def due_now_minor(self) -> int:
        """May be negative (a credit) when an upgrade is cheaper for the rest of the period; the service
        decides what to do with a negative balance, the maths does not hide it."""
        return total(self.lines)

    @property
    def immediate(self) -> bool:
        return bool(self.lines)


def classify_change(old: PlanTerms, new: PlanTerms) -> ChangeKind:
    if old.plan_id == new.plan_id:
        raise PlanUnchanged("The subscription is already on this plan.")
    if old.currency != new.currency:
        raise CurrencyMismatch(f"Cannot move from a {old.currency} plan to a {new.currency} plan.")
    if old.interval != new.interval:
        return ChangeKind.interval_change
    return ChangeKind.downgrade if new.amount_minor < old.amount_minor else ChangeKind.upgrade


def unused_time_credit(old: PlanTerms, period: Period, at: datetime) -> LineDraft:
    left = Period(at, period.end)
    return LineDraft(
        kind=LineKind.proration_credit,
        description=f"Unused time on {old.name} after {at:%b %-d, %Y}",
        amount_minor=-prorated(old.amount_minor, period.seconds_left(at), period.seconds),
        unit_amount_minor=-old.amount_minor,
        currency=old.currency,
        plan_id=old.plan_id,
        period=left,
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


def plan_change(old: PlanTerms, new: PlanTerms, period: Period, anchor: datetime, at: datetime) -> PlanChange:
    """What moving from ``old`` to ``new`` at ``at`` (inside ``period``) costs now and next, and when."""
    kind = classify_change(old, new)
    if not period.contains(at):
        raise OutsidePeriod("A plan change happens inside the current period.")
    if kind is ChangeKind.downgrade:
        return _at_period_end(kind, new, period, anchor)
    credit = unused_time_credit(old, period, at)
    if kind is ChangeKind.interval_change:
        new_period = first_period(at, new.interval)
        lines = (credit, subscription_line(new, new_period))
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
        lines=(credit, remaining_time_charge(new, period, at)),
        billing_anchor=anchor,
        period=period,
        next_bill_at=period.end,
        next_bill_minor=new.amount_minor,
        currency=new.currency,
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
