"""Collecting invoices through the gateway: buyer-approved checkouts, merchant-initiated charges of saved
methods, reconciliation of outcomes nobody heard, and refunds.

The order of work protects the money: the payment row and its idempotency key are committed *before* the
gateway is called, and the gateway is never called inside an open transaction. An UNKNOWN outcome is settled by
asking again with the same key (``reconcile_unknown``) or by PayPal's webhook, never by a new charge.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from app import clock
from app.errors import Conflict, InvalidInput, NotFound
from app.money import Money
from app.payments import methods
from app.payments.gateway import ChargeResult, ChargeStatus, Failure, GatewayError, PaymentGateway, VaultedMethod
from app.payments.paypal import PayPalGateway, mask_email
from app.payments.states import S, allowed, atomic, lock_payment, transition
from app.settings import Settings
from tables.billing import Invoice
from tables.payments import Payment, PaymentMethod

IN_FLIGHT = (S.pending, S.unknown)
log = logging.getLogger("recurra.payments")


def gateway_for(settings: Settings) -> PaymentGateway:
    """The gateway the settings describe: PayPal, or the bundled sandbox that speaks PayPal's API."""
    return PayPalGateway(settings.paypal, brand_name=settings.site_name)


@dataclass(frozen=True, slots=True)
class PaymentOutcome:
    payment_id: int
    status: str  # a Payment.Status value
    failure_category: str = ""
    failure_code: str = ""
    failure_message: str = ""
    approve_url: str | None = None  # set by start_checkout_payment: send the buyer there

    @classmethod
    def of(cls, row: dict[str, Any], approve_url: str | None = None) -> PaymentOutcome:
        return cls(
            row["id"], row["status"], row["failure_category"], row["failure_code"], row["failure_message"], approve_url
        )


def new_key(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def _failure_changes(failure: Failure | None) -> dict[Any, Any]:
    if failure is None:
        return {Payment.failure_category: "", Payment.failure_code: "", Payment.failure_message: ""}
    return {
        Payment.failure_category: failure.category.value,
        Payment.failure_code: failure.code[:100],
        Payment.failure_message: failure.message[:2000],
    }


async def _payment(payment_id: int) -> dict[str, Any]:
    row = await Payment.select().where(Payment.id == payment_id).first()
    if row is None:
        raise NotFound(f"payment {payment_id} does not exist", code="payment_not_found")
    return dict(row)


async def _open_invoice(invoice_id: int) -> tuple[dict[str, Any], Money]:
    invoice = await Invoice.select().where(Invoice.id == invoice_id).first()
    if invoice is None:
        raise NotFound(f"invoice {invoice_id} does not exist", code="invoice_not_found")
    if invoice["status"] != Invoice.Status.open:
        raise Conflict(f"invoice {invoice_id} is {invoice['status']}, not open", code="invoice_not_open")
    due = Money(invoice["total_minor"] - invoice["amount_paid_minor"], invoice["currency"])
    if due.amount_minor <= 0:
        raise Conflict(f"invoice {invoice_id} has nothing to pay", code="invoice_nothing_due")
    return dict(invoice), due


async def _insert_payment(invoice: dict[str, Any], due: Money, kind: str, key: str, method_id: int | None) -> int:
    """Commit the attempt and its key before any gateway call: a crash after this line is resumable."""
    now = clock.now()
    rows = await Payment.insert(
        Payment(
            invoice=invoice["id"],
            customer=invoice["customer"],
            payment_method=method_id,
            kind=kind,
            amount_minor=due.amount_minor,
            currency=due.currency,
            status=S.pending,
            idempotency_key=key,
            created_at=now,
            updated_at=now,
        )
    ).returning(Payment.id)
    return int(rows[0]["id"])


def _description(invoice: dict[str, Any]) -> str:
    return f"Invoice {invoice['number'] or invoice['id']}"


async def apply_charge(payment_id: int, result: ChargeResult, *, actor: str) -> dict[str, Any]:
    """Record what the gateway (or its webhook) said about a payment. Hearing the same news twice is fine."""
    async with atomic():
        row = await lock_payment(payment_id)
        ids: dict[Any, Any] = {}
        if result.order_id:
            ids[Payment.gateway_order_id] = result.order_id
        if result.capture_id:
            ids[Payment.gateway_capture_id] = result.capture_id
        event = {
            ChargeStatus.SUCCEEDED: "succeed",
            ChargeStatus.DECLINED: "decline",
            ChargeStatus.UNKNOWN: "lose_track",
        }.get(result.status)
        if event is None or allowed(row["status"], event) is None:
            if event == "succeed" and row["status"] in {S.declined, S.failed}:
                # PayPal says money moved on an attempt we closed: staff must look (refund or re-open).
                log.error("payment %s is %s but PayPal reports capture %s", payment_id, row["status"],
                          result.capture_id)  # fmt: skip
            # PENDING, or news already recorded (the webhook overtook the answer): keep the ids, change nothing.
            if ids and row["status"] in IN_FLIGHT:
                await Payment.update(ids).where(Payment.id == payment_id)
            return await lock_payment(payment_id)
        changes = {**ids, **_failure_changes(result.failure)}
        if result.status == ChargeStatus.SUCCEEDED and result.vault_token and row["payment_method"] is None:
            email = result.payer_email or ""
            method = VaultedMethod(result.vault_token, result.payer_id or "", email, f"PayPal {mask_email(email)}")
            changes[Payment.payment_method] = await methods.save_vaulted_method(row["customer"], method)
        reason = result.failure.message if result.failure else ""
        return await transition(payment_id, event, actor=actor, reason=reason, changes=changes)


async def _fail(payment_id: int, error: GatewayError, *, actor: str) -> dict[str, Any]:
    return await transition(
        payment_id, "fail", actor=actor, reason=error.failure.message, changes=_failure_changes(error.failure)
    )


async def start_checkout_payment(
    gateway: PaymentGateway, invoice_id: int, *, return_url: str, cancel_url: str, actor: str = "customer"
) -> PaymentOutcome:
    """Create a PayPal order for what the invoice owes; the buyer approves at ``outcome.approve_url`` and comes
    back to ``return_url?token=ORDER_ID``, which ``capture_checkout_payment`` takes. The method is vaulted."""
    invoice, due = await _open_invoice(invoice_id)
    key = new_key("pay")
    payment_id = await _insert_payment(invoice, due, Payment.Kind.checkout, key, None)
    try:
        session = await gateway.start_checkout(
            amount=due,
            description=_description(invoice),
            reference=key,
            return_url=return_url,
            cancel_url=cancel_url,
            request_id=f"{key}-order",
        )
    except GatewayError as exc:
        return PaymentOutcome.of(await _fail(payment_id, exc, actor=actor))
    await Payment.update({Payment.gateway_order_id: session.order_id, Payment.updated_at: clock.now()}).where(
        Payment.id == payment_id
    )
    return PaymentOutcome.of(await _payment(payment_id), approve_url=session.approve_url)


async def _checkout_payment(order_id: str) -> dict[str, Any]:
    row = await Payment.select().where(Payment.gateway_order_id == order_id).first()
    if row is None or row["kind"] != Payment.Kind.checkout:
        raise NotFound(f"no checkout payment for PayPal order {order_id}", code="payment_not_found")
    return dict(row)


async def capture_checkout_payment(
    gateway: PaymentGateway, order_id: str, *, actor: str = "customer"
) -> PaymentOutcome:
    """Capture the order the buyer approved (``token`` on the return URL). Calling again is harmless."""
    row = await _checkout_payment(order_id)
    if row["status"] not in IN_FLIGHT:
        return PaymentOutcome.of(row)
    return PaymentOutcome.of(await _capture(gateway, row, actor=actor))


async def _capture(gateway: PaymentGateway, row: dict[str, Any], *, actor: str) -> dict[str, Any]:
    try:
        result = await gateway.capture_checkout(row["gateway_order_id"], request_id=row["idempotency_key"])
    except GatewayError as exc:
        return await _fail(row["id"], exc, actor=actor)
    return await apply_charge(row["id"], result, actor=actor)


async def cancel_checkout_payment(order_id: str, *, actor: str = "customer") -> PaymentOutcome:
    """The buyer cancelled on PayPal's page (``token`` on the cancel URL): the attempt ends, nothing moved."""
    row = await _checkout_payment(order_id)
    if row["status"] != S.pending:
        return PaymentOutcome.of(row)
    failure = {
        Payment.failure_category: Payment.FailureCategory.declined,
        Payment.failure_code: "PAYER_CANCELLED",
        Payment.failure_message: "The payer cancelled on PayPal",
    }
    return PaymentOutcome.of(
        await transition(row["id"], "fail", actor=actor, reason="cancelled by the payer", changes=failure)
    )


async def _method_for(invoice: dict[str, Any], payment_method_id: int | None) -> dict[str, Any]:
    query = PaymentMethod.select().where(PaymentMethod.customer == invoice["customer"])
    query = query.where(PaymentMethod.status == PaymentMethod.Status.active)
    chosen = payment_method_id or invoice["payment_method"]
    if chosen:
        query = query.where(PaymentMethod.id == chosen)
    else:
        query = query.order_by(PaymentMethod.is_default, ascending=False).order_by(PaymentMethod.id, ascending=False)
    method = await query.first()
    if method is None:
        raise InvalidInput(f"customer {invoice['customer']} has no usable payment method", code="no_payment_method")
    return dict(method)


async def charge_invoice(
    gateway: PaymentGateway,
    invoice_id: int,
    *,
    payment_method_id: int | None = None,
    idempotency_key: str | None = None,
    actor: str = "system",
) -> PaymentOutcome:
    """Charge a saved method for what the invoice owes (renewals, upgrades, dunning retries).

    Pass ``idempotency_key`` to make the call itself repeatable (e.g. ``renew:{sub}:{period}:{attempt}``): the
    same key resumes the same payment. Without one, a payment of this invoice still in flight (pending or
    unknown) is resumed rather than a second one started: money that may have moved is never asked for twice.
    """
    if idempotency_key:
        existing = await Payment.select().where(Payment.idempotency_key == idempotency_key).first()
        if existing is not None:
            return await _resume(gateway, dict(existing), actor=actor)
    in_flight = (
        await Payment.select()
        .where(
            (Payment.invoice == invoice_id)
            & (Payment.kind == Payment.Kind.vaulted)
            & Payment.status.is_in(list(IN_FLIGHT))
        )
        .first()
    )
    if in_flight is not None:
        return await _resume(gateway, dict(in_flight), actor=actor)
    invoice, due = await _open_invoice(invoice_id)
    method = await _method_for(invoice, payment_method_id)
    key = idempotency_key or new_key("pay")
    payment_id = await _insert_payment(invoice, due, Payment.Kind.vaulted, key, method["id"])
    return PaymentOutcome.of(await _charge(gateway, await _payment(payment_id), actor=actor))


async def _charge(gateway: PaymentGateway, row: dict[str, Any], *, actor: str) -> dict[str, Any]:
    method = await PaymentMethod.select().where(PaymentMethod.id == row["payment_method"]).first()
    invoice = await Invoice.select().where(Invoice.id == row["invoice"]).first()
    if method is None or invoice is None:
        raise Conflict(f"payment {row['id']} lost its method or invoice", code="payment_incomplete")
    try:
        result = await gateway.charge_vaulted(
            vault_token=method["vault_token"],
            amount=Money(row["amount_minor"], row["currency"]),
            description=_description(dict(invoice)),
            reference=row["idempotency_key"],
            request_id=row["idempotency_key"],
        )
    except GatewayError as exc:
        return await _fail(row["id"], exc, actor=actor)
    return await apply_charge(row["id"], result, actor=actor)


async def _resume(gateway: PaymentGateway, row: dict[str, Any], *, actor: str) -> PaymentOutcome:
    if row["status"] not in IN_FLIGHT:
        return PaymentOutcome.of(row)
    if row["kind"] == Payment.Kind.checkout:
        # A pending checkout waits for its buyer; only an attempted capture (unknown) is asked again.
        if row["status"] == S.pending or not row["gateway_order_id"]:
            return PaymentOutcome.of(row)
        return PaymentOutcome.of(await _capture(gateway, row, actor=actor))
    return PaymentOutcome.of(await _charge(gateway, row, actor=actor))


async def reconcile_unknown(gateway: PaymentGateway, payment_id: int, *, actor: str = "reconciler") -> PaymentOutcome:
    """Settle a payment whose outcome nobody heard by repeating the very same request (same PayPal-Request-Id):
    PayPal answers with the first result if the money moved, or does the work now if it did not."""
    return await _resume(gateway, await _payment(payment_id), actor=actor)


async def payments_to_reconcile(older_than_s: float = 60.0, limit: int = 100) -> list[int]:
    """Payments left unknown, or vaulted ones left pending (a crash between commit and call)."""
    horizon = clock.now().timestamp() - older_than_s
    rows = (
        await Payment.select(Payment.id, Payment.kind, Payment.status, Payment.updated_at)
        .where(Payment.status.is_in(list(IN_FLIGHT)))
        .order_by(Payment.id)
        .limit(limit)
    )
    return [
        r["id"]
        for r in rows
        if clock.as_utc(r["updated_at"]).timestamp() <= horizon
        and (r["status"] == S.unknown or r["kind"] == Payment.Kind.vaulted)
    ]
