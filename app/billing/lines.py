"""Invoice lines before they are stored, and the plan terms that price them: pure values.

The renewal run, the first invoice and the plan-change invoice all build their lines here, so a preview
shown to the customer and the invoice that bills them come from the same code.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext

from app.billing.periods import Interval, Period
from app.money import round_minor
from tables.billing import InvoiceLine

LineKind = InvoiceLine.Kind


@dataclass(frozen=True, slots=True)
class PlanTerms:
    """What billing needs to know about a plan (plans are immutable in price, so this never goes stale)."""

    plan_id: int
    name: str
    amount_minor: int
    currency: str
    interval: Interval


@dataclass(frozen=True, slots=True)
class LineDraft:
    kind: LineKind
    description: str
    amount_minor: int
    unit_amount_minor: int
    currency: str
    quantity: int = 1
    plan_id: int | None = None
    period: Period | None = None


def prorated(amount_minor: int, part_seconds: int, whole_seconds: int) -> int:
    """``amount * part / whole`` rounded once, half-even, to a whole minor unit."""
    if whole_seconds <= 0 or not 0 <= part_seconds <= whole_seconds:
        raise ValueError("the part must lie within a non-empty whole")
    with localcontext() as ctx:
        ctx.prec = 50  # exact enough that a true .5 tie is seen as one (amounts < 1e15, seconds < 1e10)
        return round_minor(Decimal(amount_minor) * part_seconds / whole_seconds)


def describe_period(period: Period) -> str:
    # The end is exclusive; people read "Jan 1 - Feb 1" as the span of the period, as Stripe prints it.
    return f"{period.start:%b %-d, %Y} - {period.end:%b %-d, %Y}"


def subscription_line(plan: PlanTerms, period: Period) -> LineDraft:
    """A full period of ``plan``: what a renewal, a first invoice or an interval change charges."""
    return LineDraft(
        kind=LineKind.subscription,
        description=f"{plan.name} ({describe_period(period)})",
        amount_minor=plan.amount_minor,
        unit_amount_minor=plan.amount_minor,
        currency=plan.currency,
        plan_id=plan.plan_id,
        period=period,
    )


def total(lines: tuple[LineDraft, ...] | list[LineDraft]) -> int:
    """The sum of already-rounded lines: an invoice total is never rounded again."""
    return sum(line.amount_minor for line in lines)
