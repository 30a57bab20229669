"""Half a year of one subscriber, month by month on a test clock, through the whole engine: the billing tick's
jobs (shards, collection, reminders, outbox) run by the in-process job engine, charges through the real
charger and SDK against the sandbox, dunning after a decline, a refund's credit note, a cancellation at the
period end, and the e-mails each step sends. Amounts and dates are worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app import clock
from app.billing.testclocks import advance_test_clock, create_test_clock
from app.devmail.service import list_mail
from app.money import Money
from app.payments import refunds
from app.payments import service as payments
from app.payments.paypal import PayPalGateway
from app.subscriptions import service
from tables.billing import CreditNote, Invoice
from tables.payments import Payment
from tables.subscriptions import Subscription
from tasks.billing import billing_tick, remind_renewals
from tasks.outbox import dispatch_outbox
from tests import factories
from tests.paypal import SandboxControl

pytestmark = pytest.mark.usefixtures("clean_db")
EMAIL = "grace@example.com"


def at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 10, tzinfo=UTC)


async def tick(ctx: dict[str, Any], clock_id: int, to: datetime) -> None:
    """Time passes on the customer's clock, then the worker's cron runs once: billing tick (shards, expiry,
    collection), reminders, and the outbox with its e-mails. The system's time moves with it, so each tick
    has its own minute (job ids carry it, and the queue de-duplicates them)."""
    await advance_test_clock(clock_id, to, actor="scenario", run_billing=False)
    with clock.frozen_at(to):
        await billing_tick(ctx)
        await ctx["queue"].drain()
        await remind_renewals(ctx)
        await dispatch_outbox(ctx)
        await ctx["queue"].drain()


async def status() -> str:
    row = await Subscription.select(Subscription.status).first()
    assert row is not None
    return str(row["status"])


async def test_half_a_year(engine: dict[str, Any], sandbox: SandboxControl, gateway: PayPalGateway) -> None:
    test_clock = await create_test_clock("half a year", at(1, 15))
    customer = await factories.clock_customer(test_clock.id, email=EMAIL, name="Grace")
    [token] = await sandbox.vault(EMAIL)
    method = await factories.payment_method(token, customer=customer.id)
    plan = await factories.plan(name="Standard", amount_minor=2000, interval="month")

    subscribed = await service.subscribe(customer.id, plan.id, actor="customer", payment_method_id=method.id)
    assert subscribed.invoice is not None
    # The collector leaves a checkout's first invoice to its buyer (it never charges an incomplete one) ...
    await engine["charge_invoice"](subscribed.invoice.id)
    assert await status() == "incomplete"
    assert await Payment.count() == 0
    # ... who pays it (here with the saved method, as the portal's "pay" does); the payment.succeeded event
    # settles the invoice and activates the subscription.
    assert (await payments.charge_invoice(gateway, subscribed.invoice.id, actor="customer")).status == "succeeded"
    await dispatch_outbox(engine)
    assert await status() == "active"

    for month in (2, 3):
        await tick(engine, test_clock.id, at(month, 8))  # a week before: the upcoming-renewal reminder
        await tick(engine, test_clock.id, at(month, 15))  # renewal charged
    await tick(engine, test_clock.id, at(4, 8))
    await sandbox.arm("instrument_declined", payer_email=EMAIL)
    await tick(engine, test_clock.id, at(4, 15))  # renewal 3 declined: past due, retry tomorrow
    assert await status() == "past_due"
    await sandbox.clear_faults()
    await tick(engine, test_clock.id, at(4, 16) - timedelta(seconds=1))
    assert await status() == "past_due"  # not a second early
    await tick(engine, test_clock.id, at(4, 16))  # the first retry goes through: active again
    assert await status() == "active"

    april = await Invoice.select().where(Invoice.period_start == at(4, 15)).first()
    assert april is not None
    assert (april["status"], april["attempt_count"], april["paid_at"]) == ("paid", 1, at(4, 16))
    [april_paid] = await Payment.select().where((Payment.invoice == april["id"]) & (Payment.status == "succeeded"))
    refund = await refunds.refund(gateway, april_paid["id"], Money(500, "USD"), actor="staff:1", reason="outage")
    assert refund.status == "succeeded"

    await tick(engine, test_clock.id, at(5, 8))  # the refund's credit note is issued
    await tick(engine, test_clock.id, at(5, 15))  # renewal 4 charged
    await service.cancel(subscribed.subscription_id, actor="customer", reason="moving abroad")
    await tick(engine, test_clock.id, at(6, 8))  # set to end: no reminder
    await tick(engine, test_clock.id, at(6, 15))  # ends at the period end: no invoice, a goodbye

    assert await status() == "canceled"
    invoices = await Invoice.select(Invoice.period_start, Invoice.total_minor, Invoice.status).order_by(Invoice.id)
    assert [(i["period_start"], i["total_minor"], i["status"]) for i in invoices] == [
        (at(1, 15), 2000, "paid"),
        (at(2, 15), 2000, "paid"),
        (at(3, 15), 2000, "paid"),
        (at(4, 15), 2000, "paid"),
        (at(5, 15), 2000, "paid"),
    ]
    captures = await sandbox.new_captures()
    assert len(captures) == 5  # one capture per invoice: the declined attempt took nothing
    assert [(n["amount_minor"], n["reason"]) for n in await CreditNote.select()] == [(500, "outage")]

    mail = list_mail(engine["outbox"])
    assert all(m.to == EMAIL for m in mail)
    tags = sorted(m.tag for m in mail)
    assert tags == sorted(
        ["billing_receipt"] * 5
        + ["billing_upcoming_renewal"] * 4  # Feb, Mar, Apr, May; none before the canceled June renewal
        + ["billing_payment_failed", "billing_subscription_canceled"]
    )
    [failed] = [m for m in mail if m.tag == "billing_payment_failed"]
    assert "try again on April 16, 2026" in failed.text
