"""The database itself refuses what would break DESIGN.md's money rules, whatever the code above it does."""

from __future__ import annotations

import asyncpg
import pytest

from tables.accounts import Customer
from tables.billing import Invoice, NumberSequence
from tables.partners import IdempotencyRecord, Partner
from tables.payments import Payment, WebhookEvent
from tests import factories

Unique = asyncpg.exceptions.UniqueViolationError


async def test_one_renewal_invoice_per_subscription_period() -> None:
    sub = await factories.subscription()
    period = sub.current_period_start
    renewal = {"customer": sub.customer, "subscription": sub.id, "period_start": period,
               "billing_reason": Invoice.BillingReason.subscription_cycle}  # fmt: skip
    await factories.invoice(**renewal)
    with pytest.raises(Unique):
        await factories.invoice(**renewal)
    # A proration invoice for the same period is a different thing and is allowed.
    await factories.invoice(**{**renewal, "billing_reason": Invoice.BillingReason.subscription_update})
    assert await Invoice.count().where(Invoice.subscription == sub.id) == 2


async def test_invoice_numbers_and_counters_are_unique() -> None:
    await NumberSequence.insert(NumberSequence(series="INV", year=2026, last_value=1))
    with pytest.raises(Unique):
        await NumberSequence.insert(NumberSequence(series="INV", year=2026, last_value=7))
    await NumberSequence.insert(NumberSequence(series="INV", year=2027))
    await factories.invoice(number="INV-2026-000001")
    with pytest.raises(Unique):
        await factories.invoice(number="INV-2026-000001")


async def test_payment_idempotency_keys_are_unique() -> None:
    invoice = await factories.invoice()
    payment = {"invoice": invoice.id, "customer": invoice.customer, "amount_minor": 900, "currency": "USD",
               "idempotency_key": "pay-1-attempt-1"}  # fmt: skip
    await Payment.insert(Payment(**payment))
    with pytest.raises(Unique):
        await Payment.insert(Payment(**payment))


async def test_webhook_events_are_unique_per_gateway() -> None:
    await WebhookEvent.insert(WebhookEvent(event_id="WH-1", event_type="PAYMENT.CAPTURE.COMPLETED", payload={}))
    with pytest.raises(Unique):
        await WebhookEvent.insert(WebhookEvent(event_id="WH-1", event_type="PAYMENT.CAPTURE.COMPLETED", payload={}))


async def test_partner_idempotency_keys_are_unique_per_partner() -> None:
    first, second = Partner(name="A"), Partner(name="B")
    await first.save()
    await second.save()
    await IdempotencyRecord.insert(IdempotencyRecord(partner=first.id, key="k1", request_fingerprint="f"))
    await IdempotencyRecord.insert(IdempotencyRecord(partner=second.id, key="k1", request_fingerprint="f"))
    with pytest.raises(Unique):
        await IdempotencyRecord.insert(IdempotencyRecord(partner=first.id, key="k1", request_fingerprint="f"))


async def test_money_rows_cannot_be_deleted_from_under_an_invoice() -> None:
    invoice = await factories.invoice()
    with pytest.raises(asyncpg.exceptions.ForeignKeyViolationError):
        await Customer.delete().where(Customer.id == invoice.customer)
