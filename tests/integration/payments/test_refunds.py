"""Captures refund, full and partial, through the SDK; the refund webhook agrees and changes nothing."""

from __future__ import annotations

import pytest

from app.errors import Conflict, InvalidInput
from app.money import Money
from app.payments import refunds, service
from app.payments.paypal import PayPalGateway
from tables.billing import Invoice
from tables.outbox import OutboxEvent
from tables.payments import Payment, Refund, WebhookEvent
from tests.integration.payments.test_checkout import approved_order
from tests.paypal import HELD_S, Buyer, SandboxControl


@pytest.fixture
async def paid(gateway: PayPalGateway, sandbox: SandboxControl, invoice: Invoice) -> int:
    order_id = await approved_order(gateway, invoice, Buyer("jane@example.com"))
    outcome = await service.capture_checkout_payment(gateway, order_id)
    assert outcome.status == "succeeded"
    await sandbox.flush()
    return outcome.payment_id


async def test_full_refund(gateway: PayPalGateway, sandbox: SandboxControl, paid: int) -> None:
    outcome = await refunds.refund(gateway, paid, None, actor="staff:ana", reason="changed their mind")

    assert outcome.status == Refund.Status.succeeded
    payment = await Payment.objects().get(Payment.id == paid)
    assert (payment.status, payment.amount_refunded_minor) == ("refunded", 1250)
    [made] = await sandbox.new_refunds()
    row = await Refund.objects().get(Refund.id == outcome.refund_id)
    assert (row.gateway_refund_id, row.amount_minor, row.actor) == (made["id"], 1250, "staff:ana")
    assert made["amount"] == "12.50"
    [event] = (
        await OutboxEvent.select(OutboxEvent.payload)
        .where(OutboxEvent.event_type == "payment.refunded")
        .output(load_json=True)
    )
    assert event["payload"]["refund_id"] == row.id
    assert event["payload"]["refund_amount_minor"] == 1250
    await sandbox.flush()
    [hook] = await WebhookEvent.select(WebhookEvent.status).where(WebhookEvent.event_type == "PAYMENT.CAPTURE.REFUNDED")
    assert hook["status"] == "ignored"  # already known: nothing to change
    assert await Refund.count() == 1


async def test_partial_refunds_then_the_rest(gateway: PayPalGateway, sandbox: SandboxControl, paid: int) -> None:
    first = await refunds.refund(gateway, paid, Money(500, "USD"), actor="staff", reason="partial")
    assert first.status == "succeeded"
    assert (await Payment.objects().get(Payment.id == paid)).status == "partially_refunded"
    with pytest.raises(InvalidInput):
        await refunds.refund(gateway, paid, Money(751, "USD"), actor="staff", reason="too much")

    rest = await refunds.refund(gateway, paid, None, actor="staff", reason="the rest")

    assert rest.status == "succeeded"
    payment = await Payment.objects().get(Payment.id == paid)
    assert (payment.status, payment.amount_refunded_minor) == ("refunded", 1250)
    assert sorted(r["amount"] for r in await sandbox.new_refunds()) == ["5.00", "7.50"]
    [journal_refund, _] = [e for e in await sandbox.journal() if e["operation"] == "captures.refund"][-2:]
    assert journal_refund["request_body"]["amount"] == {"currency_code": "USD", "value": "5.00"}
    with pytest.raises(Conflict):
        await refunds.refund(gateway, paid, None, actor="staff", reason="nothing left")


async def test_refund_answer_lost_then_reconciled(gateway: PayPalGateway, sandbox: SandboxControl, paid: int) -> None:
    await sandbox.hold_webhooks()
    await sandbox.arm("timeout_after_capture", operation="captures.refund", delay_s=HELD_S)

    outcome = await refunds.refund(gateway, paid, Money(300, "USD"), actor="staff", reason="lost answer")

    assert (outcome.status, outcome.failure_code) == ("pending", "TIMEOUT")
    assert await refunds.refunds_to_reconcile(older_than_s=0) == [outcome.refund_id]
    settled = await refunds.reconcile_refund(gateway, outcome.refund_id)
    assert settled.status == "succeeded"
    assert len(await sandbox.new_refunds()) == 1
    await sandbox.flush()  # PayPal's REFUNDED webhook arrives late and changes nothing
    payment = await Payment.objects().get(Payment.id == paid)
    assert (payment.status, payment.amount_refunded_minor) == ("partially_refunded", 300)


async def test_refund_made_at_paypal_is_recorded_from_the_webhook(
    gateway: PayPalGateway, sandbox: SandboxControl, paid: int
) -> None:
    payment = await Payment.objects().get(Payment.id == paid)
    # A refund made outside Recurra (PayPal's dashboard): only the webhook tells.
    result = await gateway.refund(payment.gateway_capture_id or "", Money(250, "USD"), request_id="dash-1", note="")
    assert result.status == "succeeded"

    await sandbox.flush()

    payment = await Payment.objects().get(Payment.id == paid)
    assert (payment.status, payment.amount_refunded_minor) == ("partially_refunded", 250)
    [row] = await Refund.select(Refund.actor, Refund.status, Refund.gateway_refund_id)
    assert (row["actor"], row["status"], row["gateway_refund_id"]) == ("paypal-webhook", "succeeded", result.refund_id)
