"""The billing engine end to end on the bundled sandbox: renewals charged through the real charger (SDK over
HTTP), settlement, dunning on a test clock, refunds to credit notes, and the e-mails, sent by the session's
arq worker to the test SMTP server."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from app.billing.charger import attempt_prefix
from app.billing.charging import charge_invoices
from app.billing.collection import lease_invoices
from app.billing.events import credit_refund
from app.billing.testclocks import advance_test_clock, create_test_clock
from app.money import Money
from app.payments import refunds
from app.payments import service as payments
from app.payments.paypal import PayPalGateway
from tables.billing import CreditNote, Invoice
from tables.payments import Payment, Refund
from tables.subscriptions import Subscription
from tasks.billing import collect_invoices
from tasks.outbox import dispatch_outbox
from tests import factories
from tests.integration.billing.conftest import Vaulted, with_policy
from tests.paypal import HELD_S, SandboxControl
from tests.smtp import Mailbox

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)


async def subscriber(vaulted: Vaulted, email: str, *, clock_at: datetime = T0, amount: int = 1500) -> dict[str, Any]:
    """An active monthly subscription on a test clock, renewing at T0 + 1 day, with a saved method."""
    test_clock = await create_test_clock(f"clock for {email}", clock_at)
    customer = await factories.clock_customer(test_clock.id, email=email, name="Ada Lovelace")
    method = await vaulted(customer.id, email)
    plan = await factories.plan(name="Standard", amount_minor=amount, interval="month")
    sub = await factories.subscription(
        customer=customer.id, plan=plan.id, payment_method=method.id, ends_at=T0 + timedelta(days=1)
    )
    return {"clock": test_clock.id, "customer": customer.id, "subscription": sub.id, "plan": plan.id}


async def renew(ctx: dict[str, Any], clock_id: int, to: datetime) -> list[int]:
    """Advance the clock (which generates the renewals) and charge what it generated, as the shard job does."""
    generated = await advance_test_clock(clock_id, to, actor="staff:1")
    await charge_invoices(await lease_invoices(invoice_ids=generated.invoice_ids), ctx["charge_invoice"])
    return generated.invoice_ids


async def row(table: Any, row_id: int) -> dict[str, Any]:
    found = await table.select().where(table._meta.primary_key == row_id).first()
    assert found is not None
    return dict(found)


async def test_a_renewal_is_charged_once_settled_and_receipted(
    job_ctx: dict[str, Any], sandbox: SandboxControl, vaulted: Vaulted, mailbox: Mailbox
) -> None:
    s = await subscriber(vaulted, "ada@example.com")
    [invoice_id] = await renew(job_ctx, s["clock"], T0 + timedelta(days=1))

    invoice, sub = await row(Invoice, invoice_id), await row(Subscription, s["subscription"])
    assert (invoice["status"], invoice["amount_paid_minor"], invoice["paid_at"]) == (
        "paid",
        1500,
        T0 + timedelta(days=1),
    )
    assert (sub["status"], sub["current_period_start"]) == ("active", T0 + timedelta(days=1))
    [payment] = await Payment.select().where(Payment.invoice == invoice_id)
    assert payment["status"] == "succeeded"
    assert payment["idempotency_key"].startswith(attempt_prefix(invoice_id, 1))
    [capture] = await sandbox.new_captures()
    assert (capture["amount"], capture["id"]) == ("15.00", payment["gateway_capture_id"])

    await job_ctx["charge_invoice"](invoice_id)  # a replayed job finds the invoice paid: nothing more happens
    await dispatch_outbox(job_ctx)  # payment.succeeded: settling again is a no-op; the receipt goes out
    assert len(await sandbox.new_captures()) == 1
    [receipt] = await mailbox.wait_for("billing_receipt")
    assert receipt["To"] == "ada@example.com"
    assert f"$15.00 for invoice {invoice['number']}" in Mailbox.text(receipt)
    assert "/account/invoices" in Mailbox.html(receipt)


async def test_dunning_retries_on_schedule_then_unpaid_and_paying_restores(
    job_ctx: dict[str, Any], sandbox: SandboxControl, vaulted: Vaulted, mailbox: Mailbox, gateway: PayPalGateway
) -> None:
    s = await subscriber(vaulted, "late@example.com")
    # The same customer's second subscription, paid up on another method: its access is never touched.
    other_plan = await factories.plan(amount_minor=500, interval="year")
    other = await factories.subscription(customer=s["customer"], plan=other_plan.id, billing_anchor=T0)  # a year
    await sandbox.arm("instrument_declined", payer_email="late@example.com", times=10)
    due = T0 + timedelta(days=1)
    [invoice_id] = await renew(job_ctx, s["clock"], due)

    expected = [(1, due + timedelta(days=1)), (2, due + timedelta(days=3)), (3, due + timedelta(days=5))]
    for attempts, next_at in expected:
        invoice, sub = await row(Invoice, invoice_id), await row(Subscription, s["subscription"])
        assert (invoice["status"], invoice["attempt_count"], invoice["next_payment_attempt_at"]) == (
            "open", attempts, next_at,
        )  # fmt: skip
        assert sub["status"] == "past_due"
        # A second before the retry nothing is attempted; at its time, one attempt.
        await advance_test_clock(s["clock"], next_at - timedelta(seconds=1), actor="staff:1")
        assert await collect_invoices(job_ctx) == 0
        await advance_test_clock(s["clock"], next_at, actor="staff:1")
        assert await collect_invoices(job_ctx) == 1

    invoice, sub = await row(Invoice, invoice_id), await row(Subscription, s["subscription"])
    assert (invoice["status"], invoice["attempt_count"], invoice["next_payment_attempt_at"]) == ("open", 4, None)
    assert sub["status"] == "unpaid"
    assert (await row(Subscription, other.id))["status"] == "active"
    keys = [
        p["idempotency_key"] for p in await Payment.select().where(Payment.invoice == invoice_id).order_by(Payment.id)
    ]
    assert [key.rsplit("-", 1)[0] + "-" for key in keys] == [attempt_prefix(invoice_id, n) for n in (1, 2, 3, 4)]
    assert await sandbox.new_captures() == []

    await dispatch_outbox(job_ctx)
    failed = await mailbox.wait_for("billing_payment_failed", count=4)
    assert all("http://testserver.local/account/billing" in Mailbox.text(m) for m in failed), [
        (m["To"], Mailbox.text(m)) for m in failed
    ]
    assert sum("We will try again" in Mailbox.text(m) for m in failed) == 3
    assert sum("suspended until the invoice is paid" in Mailbox.text(m) for m in failed) == 1

    # The customer updates their method and pays the open invoice (the portal's "pay now" charges it); the
    # payment.succeeded event settles it and the subscription is back.
    await sandbox.clear_faults()
    outcome = await payments.charge_invoice(gateway, invoice_id, actor="customer")
    assert outcome.status == "succeeded"
    await dispatch_outbox(job_ctx)
    assert (await row(Invoice, invoice_id))["status"] == "paid"
    assert (await row(Subscription, s["subscription"]))["status"] == "active"
    assert len(await sandbox.new_captures()) == 1


async def test_final_action_cancel_ends_the_subscription_and_says_so(
    job_ctx: dict[str, Any], sandbox: SandboxControl, vaulted: Vaulted, mailbox: Mailbox
) -> None:
    ctx = with_policy(job_ctx, dunning_retry_days=(2,), dunning_final_action="cancel")
    s = await subscriber(vaulted, "gone@example.com")
    await sandbox.arm("insufficient_funds", payer_email="gone@example.com", times=5)
    due = T0 + timedelta(days=1)
    [invoice_id] = await renew(ctx, s["clock"], due)
    assert (await row(Subscription, s["subscription"]))["status"] == "past_due"
    await advance_test_clock(s["clock"], due + timedelta(days=2), actor="staff:1")
    assert await collect_invoices(ctx) == 1

    sub = await row(Subscription, s["subscription"])
    assert (sub["status"], sub["cancel_reason"], sub["ended_at"]) == (
        "canceled",
        "payment failed",
        due + timedelta(days=2),
    )
    await dispatch_outbox(ctx)
    [canceled] = await mailbox.wait_for("billing_subscription_canceled")
    assert "Reason: payment failed" in Mailbox.text(canceled)
    [*_, last] = await mailbox.wait_for("billing_payment_failed", count=2)
    assert "has been canceled" in Mailbox.text(last)
    assert (await row(Invoice, invoice_id))["next_payment_attempt_at"] is None


async def test_an_unknown_outcome_is_reconciled_with_the_same_key_never_charged_again(
    job_ctx: dict[str, Any], sandbox: SandboxControl, vaulted: Vaulted
) -> None:
    s = await subscriber(vaulted, "slow@example.com")
    await sandbox.hold_webhooks()  # PayPal's news comes late: only asking again can settle it
    await sandbox.arm("timeout_after_capture", operation="orders.create", times=1, delay_s=HELD_S)
    due = T0 + timedelta(days=1)
    [invoice_id] = await renew(job_ctx, s["clock"], due)  # PayPal captured, but the answer never came
    [payment] = await Payment.select().where(Payment.invoice == invoice_id)
    assert payment["status"] == "unknown"
    assert (await row(Invoice, invoice_id))["attempt_count"] == 0  # not a failure: nothing counted

    await advance_test_clock(s["clock"], due + timedelta(minutes=11), actor="staff:1")  # the lease ran out
    assert await collect_invoices(job_ctx) == 1
    assert (await row(Invoice, invoice_id))["status"] == "paid"
    assert await Payment.count().where(Payment.invoice == invoice_id) == 1
    assert len(await sandbox.new_captures()) == 1


async def test_concurrent_collectors_charge_each_invoice_once(
    job_ctx: dict[str, Any], sandbox: SandboxControl, vaulted: Vaulted
) -> None:
    subs = [await subscriber(vaulted, f"many{n}@example.com") for n in range(12)]
    for s in subs:
        await advance_test_clock(s["clock"], T0 + timedelta(days=1), actor="staff:1")
    # Two collectors (as two workers would) race over the same open invoices.
    attempted = await asyncio.gather(collect_invoices(job_ctx), collect_invoices(job_ctx))
    assert sum(attempted) == 12
    assert await Invoice.count().where(Invoice.status == "paid") == 12
    assert await Payment.count() == 12
    assert len(await sandbox.new_captures()) == 12


async def test_a_refund_issues_its_credit_note_once(
    job_ctx: dict[str, Any], sandbox: SandboxControl, vaulted: Vaulted, gateway: PayPalGateway
) -> None:
    s = await subscriber(vaulted, "refund@example.com")
    [invoice_id] = await renew(job_ctx, s["clock"], T0 + timedelta(days=1))
    [payment] = await Payment.select().where(Payment.invoice == invoice_id)
    outcome = await refunds.refund(gateway, payment["id"], Money(400, "USD"), actor="staff:1", reason="goodwill")
    assert outcome.status == "succeeded"

    await dispatch_outbox(job_ctx)
    note_id = await credit_refund(outcome.refund_id)  # hearing it again changes nothing
    [note] = await CreditNote.select().where(CreditNote.invoice == invoice_id)
    assert (note["id"], note["amount_minor"], note["reason"]) == (note_id, 400, "goodwill")
    assert note["number"].startswith("TEST-CN-")  # a test clock's customer: the test series
    assert (await row(Refund, outcome.refund_id))["credit_note"] == note_id
