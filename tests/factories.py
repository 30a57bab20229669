"""Rows for tests, with sensible defaults; each factory takes overrides as keyword arguments."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from app import clock
from app.billing.periods import Interval, next_boundary, period_at
from tables.accounts import Customer
from tables.billing import Invoice
from tables.catalog import Feature, Plan, Product
from tables.clocks import TestClock
from tables.content import ContentItem
from tables.partners import Partner
from tables.payments import PaymentMethod
from tables.subscriptions import Subscription
from tables.support import Ticket

_seq = itertools.count(1)


async def product(**overrides: Any) -> Product:
    n = next(_seq)
    row = Product(**{"name": f"Product {n}", "slug": f"product-{n}", **overrides})
    await row.save()
    return row


async def feature(**overrides: Any) -> Feature:
    n = next(_seq)
    row = Feature(**{"key": f"feature_{n}", "name": f"Feature {n}", **overrides})
    await row.save()
    return row


async def plan(**overrides: Any) -> Plan:
    n = next(_seq)
    values: dict[str, Any] = {
        "code": f"plan-{n}",
        "name": f"Plan {n}",
        "amount_minor": 1000,
        "currency": "USD",
    }
    values.update(overrides)
    if "product" not in values:
        values["product"] = (await product()).id
    row = Plan(**values)
    await row.save()
    return row


async def customer(**overrides: Any) -> Customer:
    n = next(_seq)
    row = Customer(**{"email": f"customer{n}@example.com", "password_hash": "x", "name": f"Customer {n}",
                      "country": "US", **overrides})  # fmt: skip
    await row.save()
    return row


async def interval_of(plan: Plan | int) -> Interval:
    plan_id = plan.id if isinstance(plan, Plan) else plan
    row = await Plan.select(Plan.interval, Plan.interval_count).where(Plan.id == plan_id).first()
    assert row is not None, f"no plan #{plan_id}"
    return Interval.of(row["interval"], row["interval_count"])


async def period_end(plan: Plan | int, anchor: datetime, start: datetime) -> datetime:
    """Where the period holding ``start`` ends on the plan's grid from ``anchor``: the billing code's own
    period maths (a month is a calendar month, clamped at month ends), never a fixed number of days."""
    return next_boundary(clock.as_utc(anchor), await interval_of(plan), clock.as_utc(start))


async def subscription(*, ends_at: datetime | None = None, **overrides: Any) -> Subscription:
    """An active subscription in its first period from now (or from ``current_period_start`` / ``billing_anchor``
    when given), its end where the plan's interval puts it. ``ends_at``: a subscription whose current period
    ends then, the whole period before it on the plan's grid (anchored there unless ``billing_anchor`` says)."""
    values: dict[str, Any] = {"status": Subscription.Status.active}
    values.update(overrides)
    if "customer" not in values:
        values["customer"] = (await customer()).id
    if "plan" not in values:
        values["plan"] = (await plan()).id
    if ends_at is not None:
        values.setdefault("billing_anchor", ends_at)
        values["current_period_end"] = ends_at
        last = clock.as_utc(ends_at) - timedelta(microseconds=1)
        values.setdefault(
            "current_period_start",
            period_at(clock.as_utc(values["billing_anchor"]), await interval_of(values["plan"]), last).start,
        )
    values.setdefault("current_period_start", values.get("billing_anchor") or clock.now())
    values.setdefault("billing_anchor", values["current_period_start"])
    if "current_period_end" not in values:
        values["current_period_end"] = await period_end(
            values["plan"], values["billing_anchor"], values["current_period_start"]
        )
    row = Subscription(**values)
    await row.save()
    return row


async def invoice(**overrides: Any) -> Invoice:
    values: dict[str, Any] = {"currency": "USD"}
    values.update(overrides)
    if "customer" not in values:
        values["customer"] = (await customer()).id
    row = Invoice(**values)
    await row.save()
    return row


async def test_clock(**overrides: Any) -> TestClock:
    n = next(_seq)
    row = TestClock(**{"name": f"Clock {n}", "frozen_time": clock.now(), **overrides})
    await row.save()
    return row


async def content_item(**overrides: Any) -> ContentItem:
    n = next(_seq)
    row = ContentItem(**{"title": f"Item {n}", "slug": f"item-{n}", **overrides})
    await row.save()
    return row


async def ticket(**overrides: Any) -> Ticket:
    values: dict[str, Any] = {"subject": f"Question {next(_seq)}"}
    values.update(overrides)
    if "customer" not in values:
        values["customer"] = (await customer()).id
    row = Ticket(**values)
    await row.save()
    return row


async def partner(**overrides: Any) -> Partner:
    row = Partner(**{"name": f"Partner {next(_seq)}", **overrides})
    await row.save()
    return row


async def payment_method(vault_token: str, **overrides: Any) -> PaymentMethod:
    values: dict[str, Any] = {"vault_token": vault_token, "label": "PayPal b***@example.com", "is_default": True}
    values.update(overrides)
    if "customer" not in values:
        values["customer"] = (await customer()).id
    row = PaymentMethod(**values)
    await row.save()
    return row


async def paid_period(subscription: Subscription, *, at: Any = None) -> int:
    """The paid invoice that bought ``subscription``'s current period at its plan's price (a renewal, through
    the invoice service); its id. Plan changes credit only what the ledger shows was paid."""
    from app.billing import service as invoices
    from app.billing.lines import subscription_line
    from app.billing.periods import Period
    from app.billing.plans import plan_terms_by_id

    plan_id = subscription.plan if isinstance(subscription.plan, int) else subscription.plan.id
    terms = (await plan_terms_by_id([plan_id]))[plan_id]
    period = Period(clock.as_utc(subscription.current_period_start), clock.as_utc(subscription.current_period_end))
    customer_id = subscription.customer if isinstance(subscription.customer, int) else subscription.customer.id
    invoice_id = await invoices.create_draft(
        customer_id, terms.currency, [subscription_line(terms, period)], subscription_id=subscription.id,
        billing_reason=Invoice.BillingReason.subscription_cycle, period=period,
    )  # fmt: skip
    await invoices.finalize(invoice_id, actor="test", at=at or period.start)
    await invoices.mark_paid(invoice_id, actor="test", at=at or period.start)
    return invoice_id


async def clock_customer(clock_id: int, **overrides: Any) -> Customer:
    """A test customer on the test clock ``clock_id``: only test customers live on a clock (the database says so)."""
    return await customer(**{"is_test": True, "test_clock": clock_id, **overrides})
