"""Rows for tests, with sensible defaults; each factory takes overrides as keyword arguments."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

from app import clock
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


async def subscription(**overrides: Any) -> Subscription:
    start = clock.now()
    values: dict[str, Any] = {
        "status": Subscription.Status.active,
        "current_period_start": start,
        "current_period_end": start + timedelta(days=30),
        "billing_anchor": start,
    }
    values.update(overrides)
    if "customer" not in values:
        values["customer"] = (await customer()).id
    if "plan" not in values:
        values["plan"] = (await plan()).id
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
