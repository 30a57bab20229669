"""POST /webhooks/paypal: verified at verify-webhook-signature, stored first, processed once. Replays and
forgeries change nothing."""

from __future__ import annotations

import json
from typing import Any

import httpx

from app.payments import service
from app.payments.paypal import PayPalGateway
from tables.billing import Invoice
from tables.payments import Payment, PaymentEvent, WebhookEvent
from tests.integration.payments.test_checkout import approved_order
from tests.paypal import Buyer, SandboxControl
from tests.servers import LiveServer


async def paid_with_deliveries(
    gateway: PayPalGateway, sandbox: SandboxControl, invoice: Invoice
) -> list[dict[str, Any]]:
    order_id = await approved_order(gateway, invoice, Buyer())
    assert (await service.capture_checkout_payment(gateway, order_id)).status == "succeeded"
    return [d for d in await sandbox.flush() if order_id in d["body"]]


async def snapshot() -> tuple[int, int, list[dict[str, Any]]]:
    payments = await Payment.select(Payment.status, Payment.amount_refunded_minor, Payment.updated_at)
    return await WebhookEvent.count(), await PaymentEvent.count(), payments


async def test_deliveries_are_signed_as_paypal_signs_them(
    gateway: PayPalGateway, sandbox: SandboxControl, invoice: Invoice
) -> None:
    deliveries = await paid_with_deliveries(gateway, sandbox, invoice)
    assert {d["event_type"] for d in deliveries} == {"PAYMENT.CAPTURE.COMPLETED", "VAULT.PAYMENT-TOKEN.CREATED"}
    for delivery in deliveries:
        assert delivery["status"] == 200, delivery["response"]
        headers = delivery["headers"]
        assert headers["PAYPAL-AUTH-ALGO"] == "SHA256withRSA"
        for name in ("PAYPAL-TRANSMISSION-ID", "PAYPAL-TRANSMISSION-TIME", "PAYPAL-TRANSMISSION-SIG"):
            assert headers[name]
        async with httpx.AsyncClient() as http:
            cert = await http.get(headers["PAYPAL-CERT-URL"])
        assert cert.status_code == 200
        assert cert.text.startswith("-----BEGIN CERTIFICATE-----")


async def test_replayed_delivery_changes_nothing(
    paypal_server: LiveServer, gateway: PayPalGateway, sandbox: SandboxControl, invoice: Invoice
) -> None:
    deliveries = await paid_with_deliveries(gateway, sandbox, invoice)
    before = await snapshot()

    for delivery in deliveries:
        async with httpx.AsyncClient() as http:
            replay = await http.post(
                paypal_server.url + "/webhooks/paypal", content=delivery["body"], headers=delivery["headers"]
            )
        assert replay.status_code == 200
        assert replay.json()["status"] == "processed"  # the stored event, already processed

    assert await snapshot() == before


async def test_forged_deliveries_are_refused_and_not_stored(
    paypal_server: LiveServer, gateway: PayPalGateway, sandbox: SandboxControl, invoice: Invoice
) -> None:
    [delivery] = [d for d in await paid_with_deliveries(gateway, sandbox, invoice) if "CAPTURE" in d["event_type"]]
    event = json.loads(delivery["body"])
    forged_amount = {
        **event,
        "id": "WH-FORGED",
        "resource": {**event["resource"], "amount": {"currency_code": "USD", "value": "0.01"}},
    }
    forged_type = {**event, "id": "WH-FORGED-2", "event_type": "PAYMENT.CAPTURE.DENIED"}
    unsigned = dict(delivery["headers"])
    del unsigned["PAYPAL-TRANSMISSION-SIG"]
    wrong_cert = {**delivery["headers"], "PAYPAL-CERT-URL": "https://attacker.example/cert.pem"}
    before = await snapshot()

    attempts = [
        (json.dumps(forged_amount), delivery["headers"]),
        (json.dumps(forged_type), delivery["headers"]),
        (delivery["body"], unsigned),
        (delivery["body"].replace(event["id"], "WH-OTHER"), delivery["headers"]),
        (delivery["body"], wrong_cert),
        ("not json", delivery["headers"]),
    ]
    for body, headers in attempts:
        async with httpx.AsyncClient() as http:
            answer = await http.post(paypal_server.url + "/webhooks/paypal", content=body, headers=headers)
        assert answer.status_code == 400, answer.text
        assert answer.json()["code"] == "invalid_webhook"

    assert await snapshot() == before


async def test_duplicate_delivery_is_stored_once(
    gateway: PayPalGateway, sandbox: SandboxControl, invoice: Invoice
) -> None:
    await sandbox.arm("duplicate_webhook", operation="orders.capture")
    deliveries = await paid_with_deliveries(gateway, sandbox, invoice)

    completed = [d for d in deliveries if d["event_type"] == "PAYMENT.CAPTURE.COMPLETED"]
    assert len(completed) == 2
    assert completed[0]["headers"]["PAYPAL-TRANSMISSION-ID"] != completed[1]["headers"]["PAYPAL-TRANSMISSION-ID"]
    assert {d["status"] for d in completed} == {200}
    assert await WebhookEvent.count().where(WebhookEvent.event_type == "PAYMENT.CAPTURE.COMPLETED") == 1
    assert await PaymentEvent.count().where(PaymentEvent.event == "succeed") == 1
