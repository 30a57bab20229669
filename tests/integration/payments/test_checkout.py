"""A first purchase: Orders v2 create (vaulting on success) -> the buyer approves -> capture."""

from __future__ import annotations

import pytest

from app.payments import service
from app.payments.gateway import FailureCategory, GatewayError
from app.payments.paypal import PayPalGateway
from tables.billing import Invoice
from tables.outbox import OutboxEvent
from tables.payments import Payment, PaymentEvent, PaymentMethod, WebhookEvent
from tests.paypal import HELD_S, Buyer, SandboxControl

RETURN_URL = "https://shop.example/paypal/return"
CANCEL_URL = "https://shop.example/paypal/cancel"


async def start(gateway: PayPalGateway, invoice: Invoice) -> service.PaymentOutcome:
    outcome = await service.start_checkout_payment(gateway, invoice.id, return_url=RETURN_URL, cancel_url=CANCEL_URL)
    assert outcome.status == Payment.Status.pending
    assert outcome.approve_url is not None
    return outcome


async def approved_order(gateway: PayPalGateway, invoice: Invoice, buyer: Buyer) -> str:
    outcome = await start(gateway, invoice)
    assert outcome.approve_url is not None
    query = await buyer.approve(outcome.approve_url)
    assert buyer.last_redirect.startswith(RETURN_URL + "?")
    assert query["PayerID"]
    return query["token"]


async def test_checkout_captures_and_saves_the_payers_method(
    gateway: PayPalGateway, sandbox: SandboxControl, buyer: Buyer, invoice: Invoice
) -> None:
    order_id = await approved_order(gateway, invoice, buyer)

    outcome = await service.capture_checkout_payment(gateway, order_id)

    assert outcome.status == Payment.Status.succeeded
    payment = await Payment.objects().get(Payment.id == outcome.payment_id)
    assert (payment.amount_minor, payment.currency, payment.kind) == (1250, "USD", Payment.Kind.checkout)
    assert payment.gateway_order_id == order_id
    [capture] = await sandbox.captures_of(order_id)
    assert payment.gateway_capture_id == capture["id"]
    assert (capture["amount"], capture["payer_email"]) == ("12.50", "jane@example.com")
    method = await PaymentMethod.objects().get(PaymentMethod.id == payment.payment_method)
    assert (method.customer, method.label, method.is_default) == (invoice.customer, "PayPal j***@example.com", True)
    events = await PaymentEvent.select(PaymentEvent.from_status, PaymentEvent.to_status).where(
        PaymentEvent.payment == payment.id
    )
    assert events == [  # the invoice's claim, then PayPal's answer
        {"from_status": "pending", "to_status": "processing"},
        {"from_status": "processing", "to_status": "succeeded"},
    ]
    published = (
        await OutboxEvent.select(OutboxEvent.event_type, OutboxEvent.payload)
        .where(OutboxEvent.aggregate_type == "payment")
        .output(load_json=True)
    )
    assert [e["event_type"] for e in published] == ["payment.processing", "payment.succeeded"]
    assert published[1]["payload"]["invoice_id"] == invoice.id

    # PayPal's webhooks about the same capture and vault arrive after the answer and change nothing.
    await sandbox.flush()
    hooks = await WebhookEvent.select(WebhookEvent.event_type, WebhookEvent.status).order_by(WebhookEvent.event_type)
    assert hooks == [
        {"event_type": "PAYMENT.CAPTURE.COMPLETED", "status": "processed"},
        {"event_type": "VAULT.PAYMENT-TOKEN.CREATED", "status": "processed"},
    ]
    assert await PaymentEvent.count().where(PaymentEvent.payment == payment.id) == 2
    assert await PaymentMethod.count() == 1


async def test_order_request_vaults_on_success_with_the_experience_context(
    gateway: PayPalGateway, sandbox: SandboxControl, invoice: Invoice
) -> None:
    seq = await sandbox.last_seq()
    outcome = await start(gateway, invoice)

    [create] = [e for e in await sandbox.journal(seq) if e["operation"] == "orders.create"]
    paypal = create["request_body"]["payment_source"]["paypal"]
    assert paypal["attributes"]["vault"]["store_in_vault"] == "ON_SUCCESS"
    context = paypal["experience_context"]
    assert (context["return_url"], context["cancel_url"], context["user_action"]) == (RETURN_URL, CANCEL_URL, "PAY_NOW")
    assert context["brand_name"] == "Recurra Test"
    assert create["request_body"]["purchase_units"][0]["amount"] == {"currency_code": "USD", "value": "12.50"}
    payment = await Payment.objects().get(Payment.id == outcome.payment_id)
    assert create["request_headers"]["paypal-request-id"] == f"{payment.idempotency_key}-order"
    assert create["status"] == 201


async def test_capturing_twice_captures_once(
    gateway: PayPalGateway, sandbox: SandboxControl, buyer: Buyer, invoice: Invoice
) -> None:
    order_id = await approved_order(gateway, invoice, buyer)
    first = await service.capture_checkout_payment(gateway, order_id)
    again = await service.capture_checkout_payment(gateway, order_id)  # e.g. the buyer reloads the return page
    assert first == again
    assert len(await sandbox.captures_of(order_id)) == 1


async def test_buyer_cancels_on_paypal(gateway: PayPalGateway, sandbox: SandboxControl, invoice: Invoice) -> None:
    outcome = await start(gateway, invoice)
    assert outcome.approve_url is not None
    buyer = Buyer()
    query = await buyer.cancel(outcome.approve_url)
    assert buyer.last_redirect.startswith(CANCEL_URL + "?")

    cancelled = await service.cancel_checkout_payment(query["token"])

    assert (cancelled.status, cancelled.failure_code) == (Payment.Status.failed, "PAYER_CANCELLED")
    assert await sandbox.captures_of(query["token"]) == []


async def test_capture_declined_for_the_call(
    gateway: PayPalGateway, sandbox: SandboxControl, buyer: Buyer, invoice: Invoice
) -> None:
    order_id = await approved_order(gateway, invoice, buyer)
    await sandbox.arm("instrument_declined", operation="orders.capture")

    outcome = await service.capture_checkout_payment(gateway, order_id)

    assert (outcome.status, outcome.failure_category, outcome.failure_code) == (
        "declined",
        "declined",
        "INSTRUMENT_DECLINED",
    )
    assert "debug_id" in outcome.failure_message
    assert await sandbox.captures_of(order_id) == []
    assert await PaymentMethod.count() == 0  # nothing is vaulted when the payment fails


async def test_capture_declined_for_the_payer(
    gateway: PayPalGateway, sandbox: SandboxControl, invoice: Invoice
) -> None:
    await sandbox.arm("payer_action_required", payer_email="stuck@example.com")
    order_id = await approved_order(gateway, invoice, Buyer("stuck@example.com"))

    outcome = await service.capture_checkout_payment(gateway, order_id)

    assert (outcome.status, outcome.failure_code) == ("declined", "PAYER_ACTION_REQUIRED")


async def test_demo_payer_email_asks_for_a_decline(
    gateway: PayPalGateway, sandbox: SandboxControl, invoice: Invoice
) -> None:
    order_id = await approved_order(gateway, invoice, Buyer("buyer+instrument_declined@example.com"))
    outcome = await service.capture_checkout_payment(gateway, order_id)
    assert (outcome.status, outcome.failure_code) == ("declined", "INSTRUMENT_DECLINED")


async def test_service_unavailable_then_reconciled(
    gateway: PayPalGateway, sandbox: SandboxControl, buyer: Buyer, invoice: Invoice
) -> None:
    order_id = await approved_order(gateway, invoice, buyer)
    await sandbox.arm("http_503", operation="orders.capture")

    outcome = await service.capture_checkout_payment(gateway, order_id)

    assert (outcome.status, outcome.failure_category, outcome.failure_code) == (
        "unknown",
        "retryable",
        "SERVICE_UNAVAILABLE",
    )
    settled = await service.reconcile_unknown(gateway, outcome.payment_id)
    assert (settled.status, settled.failure_code) == ("succeeded", "")
    assert len(await sandbox.captures_of(order_id)) == 1


async def test_timeout_after_capture_is_healed_without_a_second_charge(
    gateway: PayPalGateway, sandbox: SandboxControl, buyer: Buyer, invoice: Invoice
) -> None:
    order_id = await approved_order(gateway, invoice, buyer)
    await sandbox.hold_webhooks()
    await sandbox.arm("timeout_after_capture", operation="orders.capture", delay_s=HELD_S)

    outcome = await service.capture_checkout_payment(gateway, order_id)

    assert (outcome.status, outcome.failure_code) == ("unknown", "TIMEOUT")
    [capture] = await sandbox.captures_of(order_id)  # PayPal did capture: the money moved, we did not hear
    settled = await service.reconcile_unknown(gateway, outcome.payment_id)
    assert settled.status == "succeeded"
    payment = await Payment.objects().get(Payment.id == outcome.payment_id)
    assert payment.gateway_capture_id == capture["id"]
    assert payment.payment_method is not None  # the replayed answer carries the vault id too
    assert len(await sandbox.captures_of(order_id)) == 1
    seq_events = await PaymentEvent.select(PaymentEvent.to_status).where(PaymentEvent.payment == payment.id)
    assert [e["to_status"] for e in seq_events] == ["processing", "unknown", "succeeded"]


async def test_timeout_after_capture_is_healed_by_the_webhook(
    gateway: PayPalGateway, sandbox: SandboxControl, buyer: Buyer, invoice: Invoice
) -> None:
    order_id = await approved_order(gateway, invoice, buyer)
    await sandbox.hold_webhooks()
    await sandbox.arm("timeout_after_capture", operation="orders.capture", delay_s=HELD_S)
    outcome = await service.capture_checkout_payment(gateway, order_id)
    assert outcome.status == "unknown"

    await sandbox.flush()  # PAYMENT.CAPTURE.COMPLETED reaches /webhooks/paypal

    payment = await Payment.objects().get(Payment.id == outcome.payment_id)
    [capture] = await sandbox.captures_of(order_id)
    assert (payment.status, payment.gateway_capture_id) == ("succeeded", capture["id"])
    assert payment.payment_method is not None  # VAULT.PAYMENT-TOKEN.CREATED named the order
    again = await service.reconcile_unknown(gateway, payment.id)
    assert again.status == "succeeded"
    assert len(await sandbox.captures_of(order_id)) == 1


async def test_capturing_an_unknown_order_is_an_invalid_request(
    gateway: PayPalGateway, sandbox: SandboxControl
) -> None:
    with pytest.raises(GatewayError) as refused:
        await gateway.capture_checkout("NOSUCHORDER00000", request_id="capture-nosuch")
    assert (refused.value.failure.category, refused.value.failure.code) == (
        FailureCategory.INVALID_REQUEST,
        "INVALID_RESOURCE_ID",
    )
