"""Incoming PayPal webhooks, after their signature was verified: stored first (one row per event id), then
processed once, under the row's lock. A replayed delivery finds the row processed and changes nothing."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from app import clock
from app.db import write_transaction
from app.money import Money
from app.payments import methods
from app.payments.gateway import (
    ChargeResult,
    ChargeStatus,
    Failure,
    FailureCategory,
    VaultedMethod,
    WebhookNotification,
)
from app.payments.paypal import mask_email
from app.payments.refunds import record_gateway_refund
from app.payments.service import apply_charge
from tables.payments import Payment, PaymentMethod, WebhookEvent

log = logging.getLogger("recurra.payments.webhooks")
W = WebhookEvent.Status
ACTOR = "paypal-webhook"
Resource = Mapping[str, Any]


def _is_unique_violation(exc: Exception) -> bool:
    return type(exc).__name__ in {"UniqueViolationError", "IntegrityError"}


async def store_event(notification: WebhookNotification) -> int:
    """The WebhookEvent row for this event id, inserted on first delivery."""
    match = (WebhookEvent.gateway == "paypal") & (WebhookEvent.event_id == notification.event_id)
    existing = await WebhookEvent.select(WebhookEvent.id).where(match).first()
    if existing is not None:
        return int(existing["id"])
    try:
        rows = await WebhookEvent.insert(
            WebhookEvent(
                gateway="paypal",
                event_id=notification.event_id,
                event_type=notification.event_type,
                payload=dict(notification.raw),
                status=W.received,
                received_at=clock.now(),
            )
        ).returning(WebhookEvent.id)
        return int(rows[0]["id"])
    except Exception as exc:
        if not _is_unique_violation(exc):  # a concurrent delivery of the same event won the insert
            raise
    row = await WebhookEvent.select(WebhookEvent.id).where(match).first()
    assert row is not None  # noqa: S101 - the unique violation says it exists
    return int(row["id"])


async def handle(notification: WebhookNotification) -> str:
    """Store, then process; returns the event's status (processed, ignored or failed)."""
    return await process_event(await store_event(notification))


async def process_event(webhook_event_id: int) -> str:
    try:
        async with write_transaction():
            query = WebhookEvent.select().where(WebhookEvent.id == webhook_event_id).output(load_json=True)
            if WebhookEvent._meta.db.engine_type == "postgres":
                query = query.lock_rows()
            row = await query.first()
            if row is None or row["status"] in {W.processed, W.ignored}:
                return str(row["status"]) if row else W.ignored
            handler = HANDLERS.get(row["event_type"])
            done = await handler(row["payload"].get("resource") or {}) if handler else False
            status = W.processed if done else W.ignored
            await WebhookEvent.update(
                {
                    WebhookEvent.status: status,
                    WebhookEvent.processed_at: clock.now(),
                    WebhookEvent.attempts: row["attempts"] + 1,
                    WebhookEvent.last_error: "",
                }
            ).where(WebhookEvent.id == webhook_event_id)
            return status
    except Exception as exc:
        # Rolled back: the event stays stored and is processed again when PayPal redelivers it.
        log.exception("webhook event %s failed", webhook_event_id)
        await WebhookEvent.update(
            {
                WebhookEvent.status: W.failed,
                WebhookEvent.attempts: WebhookEvent.attempts + 1,
                WebhookEvent.last_error: f"{type(exc).__name__}: {exc}"[:2000],
            }
        ).where(WebhookEvent.id == webhook_event_id)
        return W.failed


async def _payment_for_capture(resource: Resource) -> dict[str, Any] | None:
    order_id = resource.get("supplementary_data", {}).get("related_ids", {}).get("order_id")
    for condition in (
        Payment.gateway_capture_id == resource.get("id"),
        Payment.idempotency_key == (resource.get("custom_id") or "-"),
        Payment.gateway_order_id == (order_id or "-"),
    ):
        row = await Payment.select().where(condition).first()
        if row is not None:
            return dict(row)
    return None


async def _capture_completed(resource: Resource) -> bool:
    payment = await _payment_for_capture(resource)
    if payment is None:
        return False
    order_id = resource.get("supplementary_data", {}).get("related_ids", {}).get("order_id")
    amount = resource.get("amount") or {}
    money = Money.from_decimal_string(amount["value"], amount["currency_code"]) if amount else None
    result = ChargeResult(ChargeStatus.SUCCEEDED, order_id=order_id, capture_id=resource.get("id"), amount=money)
    await apply_charge(payment["id"], result, actor=ACTOR)
    return True


async def _capture_denied(resource: Resource) -> bool:
    payment = await _payment_for_capture(resource)
    if payment is None:
        return False
    failure = Failure(FailureCategory.DECLINED, "CAPTURE_DENIED", "PayPal denied the capture")
    result = ChargeResult(ChargeStatus.DECLINED, capture_id=resource.get("id"), failure=failure)
    await apply_charge(payment["id"], result, actor=ACTOR)
    return True


async def _capture_refunded(resource: Resource) -> bool:
    up = next((link["href"] for link in resource.get("links", []) if link.get("rel") == "up"), "")
    capture_id = up.rstrip("/").rsplit("/", 1)[-1]
    amount = resource.get("amount") or {}
    if not capture_id or not amount or not resource.get("id"):
        return False
    money = Money.from_decimal_string(amount["value"], amount["currency_code"])
    return await record_gateway_refund(capture_id, str(resource["id"]), money, actor=ACTOR)


async def _token_created(resource: Resource) -> bool:
    token = str(resource.get("id", ""))
    if await PaymentMethod.exists().where(PaymentMethod.vault_token == token):
        return True
    order_id = resource.get("metadata", {}).get("order_id")
    payment = await Payment.select().where(Payment.gateway_order_id == (order_id or "-")).first()
    if not token or payment is None:
        return False  # vaulted outside a checkout: complete_vault_setup saves it with its customer
    wallet = resource.get("payment_source", {}).get("paypal", {})
    email = str(wallet.get("email_address", ""))
    method = VaultedMethod(token, str(wallet.get("payer_id", "")), email, f"PayPal {mask_email(email)}")
    try:
        method_id = await methods.save_vaulted_method(payment["customer"], method)
    except methods.VaultTokenTaken:
        return True  # never another customer's method (logged): processed, nothing attached
    await Payment.update({Payment.payment_method: method_id}).where(
        (Payment.id == payment["id"]) & Payment.payment_method.is_null()
    )
    return True


async def _token_deleted(resource: Resource) -> bool:
    await methods.mark_deleted(str(resource.get("id", "")), actor=ACTOR)
    return True


HANDLERS: dict[str, Callable[[Resource], Awaitable[bool]]] = {
    "PAYMENT.CAPTURE.COMPLETED": _capture_completed,
    "PAYMENT.CAPTURE.DENIED": _capture_denied,
    "PAYMENT.CAPTURE.REFUNDED": _capture_refunded,
    "VAULT.PAYMENT-TOKEN.CREATED": _token_created,
    "VAULT.PAYMENT-TOKEN.DELETED": _token_deleted,
}
