"""What happens to one subscription whose period has ended: a pure decision, time and rows as arguments.

- Cancel at period end: the subscription ends at the period end, no invoice.
- Otherwise a renewal: a scheduled downgrade (``pending_plan``) takes effect first, a trial ends (trialing ->
  active), and the next period ``[old end, next boundary)`` is invoiced at the (possibly new) plan's price.
  A pending plan on another interval re-anchors billing at the old period end.

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


@dataclass(frozen=True, slots=True)
class Ending:
    """The subscription was set to cancel at the period end: it ends now, nothing is invoiced."""

    subscription_id: int
    from_status: Status
    to_status: Status
    event: Event = Event.cancel


def decide(due: DueSubscription, plan: PlanTerms, pending: PlanTerms | None) -> Renewal | Ending:
    if due.cancel_at_period_end:
        return Ending(due.id, due.status, states.MACHINE.target(due.status, Event.cancel))
    terms = pending or plan
    anchor = due.billing_anchor
    if pending is not None and pending.interval != plan.interval:
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
    )
