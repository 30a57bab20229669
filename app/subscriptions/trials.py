"""Who gets a plan's free trial: the one rule the subscribe path, the pricing page and the subscribe page ask.

A trial is for trying a product, so a customer who has had one, or who has paid for the product, does not get
another (``TRIAL_ELIGIBILITY``: once per product by default, once in all, or always). Stripe leaves this to the
merchant (a subscription gets whatever trial it is created with); Chargebee and Paddle keep trials for new
customers. What counts is read from the subscription history, never from a flag that could drift: a
subscription of the customer that reached ``trialing`` or ``active`` (its event rows; a later cancel, pause or
failed payment does not undo having tried or paid). An abandoned checkout, or a trial whose PayPal approval
never came back, never started and does not count.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from app.settings import TrialEligibility
from app.subscriptions.states import Status
from tables.catalog import Plan
from tables.subscriptions import SubscriptionEvent

TRIED = (Status.trialing, Status.active)  # a subscription that got this far was tried (or paid for)


@dataclass(frozen=True, slots=True)
class TrialHistory:
    """The products a customer has tried or paid for, read with the policy in force."""

    policy: TrialEligibility
    products: frozenset[int]

    def had_trial(self, product_id: int) -> bool:
        if self.policy == "always":
            return False
        if self.policy == "once_per_customer":
            return bool(self.products)
        return product_id in self.products


@dataclass(frozen=True, slots=True)
class TrialOffer:
    """What a plan's trial means for one customer."""

    plan_days: int  # the plan's own trial (0: it has none)
    had_one: bool  # the plan has a trial, and this customer has had theirs

    @property
    def days(self) -> int:
        return 0 if self.had_one else self.plan_days


async def history(customer_id: int | None, policy: TrialEligibility, *, excluding: int | None = None) -> TrialHistory:
    """``customer_id``'s trial history (empty for a visitor, or when every subscription gets its trial);
    ``excluding``: a subscription not to count (the one whose trial is being started)."""
    if customer_id is None or policy == "always":
        return TrialHistory(policy, frozenset())
    query = SubscriptionEvent.select(SubscriptionEvent.subscription._.plan._.product.as_alias("product")).where(
        SubscriptionEvent.subscription._.customer == customer_id, SubscriptionEvent.to_status.is_in(list(TRIED))
    )
    if excluding is not None:
        query = query.where(SubscriptionEvent.subscription != excluding)
    rows = await query.distinct()
    return TrialHistory(policy, frozenset(row["product"] for row in rows))


async def offers(
    customer_id: int | None, plan_codes: Collection[str], policy: TrialEligibility
) -> dict[str, TrialOffer]:
    """The trial each plan (by code) offers this customer (None: a visitor, who has had none)."""
    plans = await Plan.select(Plan.code, Plan.product, Plan.trial_days).where(Plan.code.is_in(list(plan_codes) or [""]))
    tried = await history(customer_id, policy)
    return {p["code"]: _offer(p, tried) for p in plans}


async def offer(
    customer_id: int, plan_id: int, policy: TrialEligibility, *, excluding: int | None = None
) -> TrialOffer:
    """The trial ``plan_id`` gives ``customer_id`` now (what the subscribe path starts them with)."""
    plan = await Plan.select(Plan.product, Plan.trial_days).where(Plan.id == plan_id).first()
    if plan is None or not plan["trial_days"]:
        return TrialOffer(0, False)
    return _offer(plan, await history(customer_id, policy, excluding=excluding))


def _offer(plan: Mapping[str, Any], tried: TrialHistory) -> TrialOffer:
    return TrialOffer(plan["trial_days"], bool(plan["trial_days"]) and tried.had_trial(plan["product"]))
