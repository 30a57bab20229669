"""Collecting invoices through the gateway: buyer-approved checkouts, merchant-initiated charges of saved
methods, reconciliation of outcomes nobody heard, and refunds.

The order of work protects the money: the payment row and its idempotency key are committed *before* the
gateway is called, and the gateway is never called inside an open transaction. An UNKNOWN outcome is settled by
asking again with the same key (``reconcile_unknown``) or by PayPal's webhook, never by a new charge.

One payment of an invoice at a time may ask PayPal to move money: the one holding the invoice's *claim*
(``processing``, or ``unknown`` once an answer went missing). A short transaction locks the invoice row, checks
that no other payment of it holds the claim or has collected it, and claims (a checkout's pending payment moves
``claim`` -> processing; a saved-method charge is created processing), then commits; only then is PayPal called.
Two checkouts approved in two tabs, or a checkout and a saved-method charge, therefore cannot both collect: the
loser asks PayPal nothing. A losing checkout is closed (``supersede`` -> failed, ``SUPERSEDED``) and its approved
order is left uncaptured: Orders v2 has no call to void an order, and one never captured expires without moving
money. A crash between claim and call leaves the claim held until the reconciler repeats the same request.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app import clock
from app.db import locked_row, write_transaction
from app.errors import Conflict, InvalidInput, NotFound
from app.money import Money
from app.payments import methods
from app.payments.customer import PaymentProblem
from app.payments.gateway import ChargeResult, ChargeStatus, Failure, GatewayError, PaymentGateway, VaultedMethod
from app.payments.paypal import PayPalGateway, mask_email
from app.payments.states import PAYER_CANCELLED, SUPERSEDED, S, allowed, lock_payment, transition
from app.settings import Settings
from tables.billing import CreditNote, Invoice
from tables.payments import Payment, PaymentMethod

IN_FLIGHT = (S.pending, S.processing, S.unknown)
CLAIMED = (S.processing, S.unknown)  # holds the invoice's claim: PayPal may be moving money for it
COLLECTED = (S.succeeded, S.partially_refunded, S.refunded)
log = logging.getLogger("recurra.payments")


class InvoiceBusy(Conflict):
    """Another payment of the invoice holds its claim or has collected it: this one may not ask PayPal."""

    code = "invoice_payment_in_progress"


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

    def problem(self) -> PaymentProblem:
        """This failed payment as the customer reads it (``failure_message`` is PayPal's words: staff only)."""
        return PaymentProblem.of(self.failure_category, self.failure_code)

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


async def credited_minor(invoice_id: int) -> int:
    """What credit notes took off the invoice. While it is unpaid, each one lowers what it still owes (Stripe's
    pre-payment credit notes); after payment, credit notes go with refunds and the invoice owes nothing."""
    rows = await CreditNote.select(CreditNote.amount_minor).where(CreditNote.invoice == invoice_id)
    return sum(int(row["amount_minor"]) for row in rows)


def still_due(invoice: Mapping[str, Any], credited: int) -> int:
    """Minor units an invoice still owes: an open one its total, less what was paid and credited; others none."""
    if invoice["status"] != Invoice.Status.open:
        return 0
    return max(int(invoice["total_minor"] - invoice["amount_paid_minor"] - credited), 0)


async def _owed(invoice_id: int, invoice: dict[str, Any] | None) -> tuple[dict[str, Any], Money]:
    if invoice is None:
        raise NotFound(f"invoice {invoice_id} does not exist", code="invoice_not_found")
    if invoice["status"] != Invoice.Status.open:
        raise Conflict(f"invoice {invoice_id} is {invoice['status']}, not open", code="invoice_not_open")
    due = Money(still_due(invoice, await credited_minor(invoice_id)), invoice["currency"])
    if due.amount_minor <= 0:
        raise Conflict(f"invoice {invoice_id} has nothing to pay", code="invoice_nothing_due")
    return invoice, due


async def _open_invoice(invoice_id: int) -> tuple[dict[str, Any], Money]:
    row = await Invoice.select().where(Invoice.id == invoice_id).first()
    return await _owed(invoice_id, dict(row) if row else None)


async def _claimable_invoice(invoice_id: int, payment_id: int | None = None) -> tuple[dict[str, Any], Money]:
    """Inside ``write_transaction()``: the open invoice, locked so that claims on it take turns, and what it owes.
    Raises Conflict when no payment (other than ``payment_id``) may ask PayPal for it now: the invoice is not open or
    owes nothing, or another payment of it holds its claim or has collected it (``InvoiceBusy``)."""
    invoice, due = await _owed(invoice_id, await locked_row(Invoice, invoice_id))
    rivals = Payment.exists().where(Payment.invoice == invoice_id, Payment.status.is_in([*CLAIMED, *COLLECTED]))
    if payment_id is not None:
        rivals = rivals.where(Payment.id != payment_id)
    if await rivals:
        raise InvoiceBusy(f"Another payment of invoice {invoice['number'] or invoice_id} is under way or done.")
    return invoice, due


async def _claim(row: dict[str, Any], *, actor: str) -> dict[str, Any]:
    """Make a pending payment its invoice's one attempt to ask PayPal (``claim``), or close it unasked when it
    cannot be (``supersede``). A payment claimed already (the same order returned twice at once) comes back as
    it is, and asks PayPal again with the same key, which PayPal answers once."""
    async with write_transaction():
        try:
            # The invoice lock first, as every claim takes it.
            _, due = await _claimable_invoice(row["invoice"], row["id"])
        except Conflict as refused:
            reason = refused.detail
        else:
            # The order was created for what the invoice owed then; a credit note since lowered it.
            reason = "" if due.amount_minor == row["amount_minor"] else f"the invoice now owes {due.format()}"
        current = await lock_payment(row["id"])
        if current["status"] != S.pending:
            return current
        if not reason:
            return await transition(row["id"], "claim", actor=actor)
        superseded = {
            Payment.failure_category: Payment.FailureCategory.none,
            Payment.failure_code: SUPERSEDED,
            Payment.failure_message: f"PayPal was not asked: {reason}",
        }
        return await transition(row["id"], "supersede", actor=actor, reason=reason, changes=superseded)


async def claim_holder(invoice_id: int) -> PaymentOutcome | None:
    """The payment of the invoice that holds its claim or has collected it, if any."""
    row = (
        await Payment.select()
        .where(Payment.invoice == invoice_id, Payment.status.is_in([*CLAIMED, *COLLECTED]))
        .order_by(Payment.id, ascending=False)
        .first()
    )
    return PaymentOutcome.of(dict(row)) if row else None


async def _insert_payment(
    invoice: dict[str, Any], due: Money, kind: str, key: str, method_id: int | None, status: S = S.pending
) -> int:
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
            status=status,
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
    async with write_transaction():
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
            with contextlib.suppress(methods.VaultTokenTaken):  # the money moved: record it, attach no method
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
    """Capture the order the buyer approved (``token`` on the return URL) if its payment wins the invoice's
    claim; otherwise the payment is closed unasked (failed, ``SUPERSEDED``). Calling again is harmless."""
    row = await _checkout_payment(order_id)
    if row["status"] not in IN_FLIGHT:
        return PaymentOutcome.of(row)
    return PaymentOutcome.of(await _ask(gateway, row, actor=actor))


async def _ask(gateway: PaymentGateway, row: dict[str, Any], *, actor: str) -> dict[str, Any]:
    """Ask PayPal to move the payment's money, once it holds its invoice's claim (claiming it if pending)."""
    if row["status"] == S.pending:
        row = await _claim(row, actor=actor)
        if row["status"] not in CLAIMED:
            return row
    if row["kind"] == Payment.Kind.checkout:
        return await _capture(gateway, row, actor=actor)
    return await _charge(gateway, row, actor=actor)


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
    failure = {  # no failure category: a cancel is the buyer's choice, not a failed payment
        Payment.failure_category: Payment.FailureCategory.none,
        Payment.failure_code: PAYER_CANCELLED,
        Payment.failure_message: "The payer cancelled on PayPal",
    }
    return PaymentOutcome.of(
        await transition(row["id"], "fail", actor=actor, reason="cancelled by the payer", changes=failure)
    )


def pick_method(active: Sequence[Mapping[str, Any]], chosen: int | None) -> Mapping[str, Any] | None:
    """The method a charge uses among the customer's active ones (ordered default first, then newest first):
    ``chosen`` if it is one of them (else none: a removed method is never swapped for another silently), else
    the first. The single and the batch charging paths both decide with this."""
    if chosen:
        return next((m for m in active if m["id"] == chosen), None)
    return active[0] if active else None


async def _method_for(invoice: dict[str, Any], payment_method_id: int | None) -> dict[str, Any]:
    active = await (
        PaymentMethod.select()
        .where(PaymentMethod.customer == invoice["customer"], PaymentMethod.status == PaymentMethod.Status.active)
        .order_by(PaymentMethod.is_default, ascending=False)
        .order_by(PaymentMethod.id, ascending=False)
    )
    method = pick_method(active, payment_method_id or invoice["payment_method"])
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
    same key resumes the same payment. Without one, a saved-method payment of this invoice still in flight is
    resumed rather than a second one started: money that may have moved is never asked for twice. A new
    payment is created holding the invoice's claim; raises ``InvoiceBusy`` when another payment (a checkout
    being captured, say) holds it or has collected the invoice, and then nothing is charged or counted.
    """
    if idempotency_key:
        existing = await Payment.select().where(Payment.idempotency_key == idempotency_key).first()
        if existing is not None:
            return await _resume_charge(gateway, dict(existing), actor=actor)
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
        return await _resume_charge(gateway, dict(in_flight), actor=actor)
    key = idempotency_key or new_key("pay")
    async with write_transaction():
        invoice, due = await _claimable_invoice(invoice_id)
        method = await _method_for(invoice, payment_method_id)
        payment_id = await _insert_payment(invoice, due, Payment.Kind.vaulted, key, method["id"], S.processing)
    return PaymentOutcome.of(await _charge(gateway, await _payment(payment_id), actor=actor))


async def _resume_charge(gateway: PaymentGateway, row: dict[str, Any], *, actor: str) -> PaymentOutcome:
    outcome = await _resume(gateway, row, actor=actor)
    if outcome.failure_code == SUPERSEDED:  # a payment from before claims, turned away by another's claim
        raise InvoiceBusy(outcome.failure_message)
    return outcome


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
    if row["kind"] == Payment.Kind.checkout and (row["status"] == S.pending or not row["gateway_order_id"]):
        return PaymentOutcome.of(row)  # a pending checkout waits for its buyer; only a claimed one is asked
    return PaymentOutcome.of(await _ask(gateway, row, actor=actor))


async def reconcile_unknown(gateway: PaymentGateway, payment_id: int, *, actor: str = "reconciler") -> PaymentOutcome:
    """Settle a payment whose outcome nobody heard by repeating the very same request (same PayPal-Request-Id):
    PayPal answers with the first result if the money moved, or does the work now if it did not. A claim left
    by a crash before the call is settled the same way: the claim holds until then, so nothing else is asked."""
    return await _resume(gateway, await _payment(payment_id), actor=actor)


async def payments_to_reconcile(older_than_s: float = 60.0, limit: int = 100) -> list[int]:
    """Payments holding a claim for longer than ``older_than_s`` (processing: a crash between the claim and the
    call; unknown: nobody heard the answer), or saved-method ones left pending (created before claims)."""
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
        and (r["status"] in CLAIMED or r["kind"] == Payment.Kind.vaulted)
    ]
