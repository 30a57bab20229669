"""Refunds of captured payments, in full or in part. The Refund row and its key are committed before the
gateway call; the credit note is billing's to issue when it sees the ``payment.refunded`` outbox event (its
payload names the refund), after which billing sets ``Refund.credit_note``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app import clock
from app.db import write_transaction
from app.errors import Conflict, InvalidInput, NotFound
from app.money import Money, format_money
from app.payments.gateway import ChargeStatus, GatewayError, PaymentGateway, RefundResult
from app.payments.service import new_key
from app.payments.states import S, lock_payment, transition
from tables.payments import Payment, Refund

R = Refund.Status


@dataclass(frozen=True, slots=True)
class RefundOutcome:
    refund_id: int
    status: str  # a Refund.Status value
    failure_code: str = ""
    failure_message: str = ""

    @classmethod
    def of(cls, row: dict[str, Any]) -> RefundOutcome:
        return cls(row["id"], row["status"], row["failure_code"], row["failure_message"])


async def _refund_row(refund_id: int) -> dict[str, Any]:
    row = await Refund.select().where(Refund.id == refund_id).first()
    if row is None:
        raise NotFound(f"refund {refund_id} does not exist", code="refund_not_found")
    return dict(row)


async def _refundable(payment: dict[str, Any]) -> int:
    """Minor units still refundable: captured, less refunded, less refunds still in flight."""
    pending = await Refund.select(Refund.amount_minor).where(
        (Refund.payment == payment["id"]) & (Refund.status == R.pending)
    )
    return int(payment["amount_minor"] - payment["amount_refunded_minor"] - sum(r["amount_minor"] for r in pending))


async def refund(
    gateway: PaymentGateway, payment_id: int, amount: Money | None, *, actor: str, reason: str
) -> RefundOutcome:
    """Give back ``amount`` (everything still refundable when None) of a succeeded payment."""
    async with write_transaction():
        payment = await lock_payment(payment_id)
        if payment["status"] not in {S.succeeded, S.partially_refunded} or not payment["gateway_capture_id"]:
            raise Conflict(f"Payment #{payment_id} is {payment['status']}: nothing to refund.", code="not_refundable")
        refundable = await _refundable(payment)
        value = amount or Money(refundable, payment["currency"])
        if value.currency != payment["currency"] or not 0 < value.amount_minor <= refundable:
            raise InvalidInput(
                f"A refund of payment #{payment_id} can be at most {format_money(refundable, payment['currency'])}.",
                code="refund_amount_invalid",
            )
        rows = await Refund.insert(
            Refund(
                payment=payment_id,
                amount_minor=value.amount_minor,
                currency=value.currency,
                status=R.pending,
                idempotency_key=new_key("refund"),
                reason=reason,
                actor=actor,
                created_at=clock.now(),
            )
        ).returning(Refund.id)
    # Committed: now ask PayPal. The whole capture is refunded without an amount, as PayPal documents it.
    whole = payment["amount_refunded_minor"] == 0 and value.amount_minor == payment["amount_minor"]
    return await _ask(gateway, await _refund_row(int(rows[0]["id"])), payment, None if whole else value)


async def _ask(
    gateway: PaymentGateway, row: dict[str, Any], payment: dict[str, Any], amount: Money | None
) -> RefundOutcome:
    try:
        result = await gateway.refund(
            payment["gateway_capture_id"], amount, request_id=row["idempotency_key"], note=row["reason"]
        )
    except GatewayError as exc:
        result = RefundResult(ChargeStatus.DECLINED, failure=exc.failure)
    return RefundOutcome.of(await apply_refund(row["id"], result, actor=row["actor"]))


async def reconcile_refund(gateway: PaymentGateway, refund_id: int) -> RefundOutcome:
    """Ask again, with the same PayPal-Request-Id, about a refund whose answer was lost."""
    row = await _refund_row(refund_id)
    if row["status"] != R.pending:
        return RefundOutcome.of(row)
    payment = await Payment.select().where(Payment.id == row["payment"]).first()
    assert payment is not None  # noqa: S101 - a foreign key guarantees it
    return await _ask(gateway, row, dict(payment), Money(row["amount_minor"], row["currency"]))


async def apply_refund(refund_id: int, result: RefundResult, *, actor: str) -> dict[str, Any]:
    """Record the gateway's answer about a refund; hearing it twice (answer and webhook) changes nothing."""
    async with write_transaction():
        row = await _refund_row(refund_id)
        await lock_payment(row["payment"])
        row = await _refund_row(refund_id)  # re-read under the payment's lock
        if row["status"] != R.pending:
            return row
        if result.status == ChargeStatus.SUCCEEDED:
            await _succeed(row, result.refund_id, actor=actor)
        elif result.status == ChargeStatus.DECLINED:
            failure = result.failure
            await Refund.update(
                {
                    Refund.status: R.failed,
                    Refund.failure_code: failure.code[:100] if failure else "DECLINED",
                    Refund.failure_message: failure.message[:2000] if failure else "",
                }
            ).where(Refund.id == refund_id)
        elif result.failure is not None:  # UNKNOWN: keep it pending for the reconciler, note why
            await Refund.update(
                {
                    Refund.failure_code: result.failure.code[:100],
                    Refund.failure_message: result.failure.message[:2000],
                }
            ).where(Refund.id == refund_id)
        return await _refund_row(refund_id)


async def _succeed(row: dict[str, Any], gateway_refund_id: str | None, *, actor: str) -> None:
    payment = await lock_payment(row["payment"])
    await Refund.update(
        {
            Refund.status: R.succeeded,
            Refund.gateway_refund_id: gateway_refund_id,
            Refund.failure_code: "",
            Refund.failure_message: "",
        }
    ).where(Refund.id == row["id"])
    refunded = payment["amount_refunded_minor"] + row["amount_minor"]
    event = "refund_all" if refunded >= payment["amount_minor"] else "refund_part"
    await transition(
        payment["id"],
        event,
        actor=actor,
        reason=row["reason"],
        changes={Payment.amount_refunded_minor: refunded},
        extra={"refund_id": row["id"], "refund_amount_minor": row["amount_minor"], "reason": row["reason"]},
    )


async def record_gateway_refund(capture_id: str, gateway_refund_id: str, amount: Money, *, actor: str) -> bool:
    """A refund PayPal reports (webhook): match it to ours, or record one made outside Recurra (PayPal's
    dashboard). False when the capture is not ours or the refund is already known."""
    async with write_transaction():
        payment = await Payment.select().where(Payment.gateway_capture_id == capture_id).first()
        if payment is None:
            return False
        await lock_payment(payment["id"])
        if await Refund.exists().where(Refund.gateway_refund_id == gateway_refund_id):
            return False
        ours = (
            await Refund.select()
            .where(
                (Refund.payment == payment["id"])
                & (Refund.status == R.pending)
                & (Refund.amount_minor == amount.amount_minor)
            )
            .first()
        )
        if ours is None:
            rows = await Refund.insert(
                Refund(
                    payment=payment["id"],
                    amount_minor=amount.amount_minor,
                    currency=amount.currency,
                    status=R.pending,
                    idempotency_key=f"paypal-{gateway_refund_id}",
                    reason="refunded at PayPal",
                    actor=actor,
                    created_at=clock.now(),
                )
            ).returning(Refund.id)
            ours = await _refund_row(int(rows[0]["id"]))
        await _succeed(dict(ours), gateway_refund_id, actor=actor)
        return True


async def refunds_to_reconcile(older_than_s: float = 60.0, limit: int = 100) -> list[int]:
    """Refunds still pending a while after they were asked for: their answer was lost."""
    horizon = clock.now().timestamp() - older_than_s
    rows = (
        await Refund.select(Refund.id, Refund.created_at)
        .where(Refund.status == R.pending)
        .order_by(Refund.id)
        .limit(limit)
    )
    return [r["id"] for r in rows if clock.as_utc(r["created_at"]).timestamp() <= horizon]
