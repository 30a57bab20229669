"""What happens to one subscription whose period has ended: a pure decision, time and rows as arguments.

- Cancel at period end: the subscription ends at the period end, no invoice.
- Otherwise a renewal: a scheduled downgrade (``pending_plan``) takes effect first, a trial ends (trialing ->
  active), and the next period ``[old end, next boundary)`` is invoiced at the (possibly new) plan's price.
  A pending plan on another interval re-anchors billing at the old period end.
- A move to a new price (a newer version of the plan, ``app.billing.price_moves``) applies at the first renewal
  at or after its date, if the subscription is still on the version it moves from and no downgrade takes
  effect instead. Until then every renewal bills the price the subscription signed up for.

Paused, unpaid and canceled subscriptions never reach this (the run does not claim them): no invoices while
paused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.billing.lines import LineDraft, PlanTerms, subscription_line
from app.billing.periods import Period, next_boundary
from app.subscriptions import states
from app.subscriptions.states import Event, Status


@dataclass(frozen=True, slots=True)
class DueSubscription:
    id: int
    status: Status
    plan_id: int
    pending_plan_id: int | None
    billing_anchor: datetime
    period_end: datetime
    cancel_at_period_end: bool


@dataclass(frozen=True, slots=True)
class ScheduledPrice:
    """A move to a newer price of the plan, billed from the renewal at ``effective_at`` on."""

    move_id: int
    from_plan_id: int
    plan: PlanTerms  # the new version
    effective_at: datetime

    def applies(self, due: DueSubscription) -> bool:
        return due.plan_id == self.from_plan_id and due.period_end >= self.effective_at


@dataclass(frozen=True, slots=True)
class Renewal:
    """The subscription goes on: the next period is invoiced (possibly on a new plan, possibly ending a trial)."""

    subscription_id: int
    from_status: Status
    to_status: Status
    event: Event | None  # the lifecycle event this renewal fires (trial_end), if any
    plan: PlanTerms  # the plan billed from now on
    plan_changed: bool
    billing_anchor: datetime
    period: Period  # the new current period
    line: LineDraft  # the renewal invoice's line
    price_move: ScheduledPrice | None = None  # the move to a new price this renewal applies, if any


@dataclass(frozen=True, slots=True)
class Ending:
    """The subscription was set to cancel at the period end: it ends now, nothing is invoiced."""

    subscription_id: int
    from_status: Status
    to_status: Status
    event: Event = Event.cancel


def decide(
    due: DueSubscription, plan: PlanTerms, pending: PlanTerms | None, move: ScheduledPrice | None = None
) -> Renewal | Ending:
    if due.cancel_at_period_end:
        return Ending(due.id, due.status, states.MACHINE.target(due.status, Event.cancel))
    moved = move if move is not None and pending is None and move.applies(due) else None
    terms = pending or (moved.plan if moved else plan)
    anchor = due.billing_anchor
    if terms.interval != plan.interval:
        anchor = due.period_end
    period = Period(due.period_end, next_boundary(anchor, terms.interval, due.period_end))
    event = Event.trial_end if due.status is Status.trialing else None
    return Renewal(
        subscription_id=due.id,
        from_status=due.status,
        to_status=states.MACHINE.target(due.status, event) if event else due.status,
        event=event,
        plan=terms,
        plan_changed=pending is not None,
        billing_anchor=anchor,
        period=period,
        line=subscription_line(terms, period),
        price_move=moved,
    )
