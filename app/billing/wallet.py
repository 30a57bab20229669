"""The customer's billing page: saved payment methods, changing the method renewals use, and paying an
open invoice now (past_due recovery) with the saved method or through PayPal checkout."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.db import write_transaction
from app.errors import Conflict, InvalidInput, NotFound
from app.payments import methods
from app.payments import service as payments
from app.payments.gateway import PaymentGateway
from app.subscriptions.checkout import begin_checkout
from app.subscriptions.settlement import settle_paid_invoice
from app.subscriptions.states import LIVE
from tables.billing import Invoice
from tables.payments import Payment, PaymentMethod
from tables.subscriptions import Subscription


@dataclass(frozen=True, slots=True)
class MethodView:
    id: int
    label: str
    is_default: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PayOutcome:
    succeeded: bool
    pending: bool  # PayPal has not confirmed yet: the reconciler settles it


async def saved_methods(customer_id: int) -> list[MethodView]:
    rows = (
        await PaymentMethod.select(
            PaymentMethod.id, PaymentMethod.label, PaymentMethod.is_default, PaymentMethod.created_at
        )
        .where(PaymentMethod.customer == customer_id, PaymentMethod.status == PaymentMethod.Status.active)
        .order_by(PaymentMethod.is_default, ascending=False)
        .order_by(PaymentMethod.id, ascending=False)
    )
    return [MethodView(r["id"], r["label"], r["is_default"], r["created_at"]) for r in rows]


async def begin_method_change(gateway: PaymentGateway, customer_id: int, *, return_url: str, cancel_url: str) -> str:
    """Vault a new PayPal account (no purchase); returns where the customer approves it."""
    setup = await methods.start_vault_setup(gateway, customer_id, return_url=return_url, cancel_url=cancel_url)
    return setup.approve_url


async def finish_method_change(gateway: PaymentGateway, customer_id: int, setup_token: str) -> int:
    """Save the approved method as the default, and make the customer's live subscriptions renew with it."""
    method_id = await methods.complete_vault_setup(gateway, customer_id, setup_token)
    async with write_transaction():
        await PaymentMethod.update({PaymentMethod.is_default: False}).where(
            PaymentMethod.customer == customer_id, PaymentMethod.id != method_id
        )
        await PaymentMethod.update({PaymentMethod.is_default: True}).where(PaymentMethod.id == method_id)
        await Subscription.update({Subscription.payment_method: method_id}).where(
            Subscription.customer == customer_id, Subscription.status.is_in(list(LIVE))
        )
    return method_id


async def owned_open_invoice(customer_id: int, invoice_id: int) -> dict[str, Any]:
    row = await Invoice.select().where(Invoice.id == invoice_id, Invoice.customer == customer_id).first()
    if row is None or row["status"] == Invoice.Status.draft:
        raise NotFound("There is no such invoice.", code="invoice_not_found")
    if row["status"] != Invoice.Status.open:
        raise Conflict(f"Invoice {row['number']} is {row['status']}: there is nothing to pay.", code="invoice_not_open")
    return dict(row)


async def pay_with_saved_method(
    gateway: PaymentGateway, customer_id: int, invoice_id: int, *, actor: str
) -> PayOutcome:
    """Charge the customer's default method for an open invoice; a paid invoice restores its subscription.
    A payment of this invoice still in flight is resumed, never doubled; while a checkout of it is being
    captured, ``charge_invoice`` refuses (``InvoiceBusy``) and nothing is charged. A declined or refused charge
    raises ``PaymentProblem`` in the customer's words."""
    await owned_open_invoice(customer_id, invoice_id)
    default = await methods_default(customer_id)
    if default is None:
        raise InvalidInput("You have no saved PayPal account: pay with PayPal instead.", code="no_payment_method")
    outcome = await payments.charge_invoice(gateway, invoice_id, payment_method_id=default, actor=actor)
    if outcome.status == Payment.Status.succeeded:
        await settle_paid_invoice(invoice_id, actor=actor)
        return PayOutcome(True, False)
    if outcome.status in payments.IN_FLIGHT:
        return PayOutcome(False, True)
    raise outcome.problem()


async def methods_default(customer_id: int) -> int | None:
    found = await saved_methods(customer_id)
    return found[0].id if found else None


async def begin_invoice_checkout(
    gateway: PaymentGateway, customer_id: int, invoice_id: int, *, return_url: str, cancel_url: str, actor: str
) -> str:
    """Pay an open invoice through PayPal checkout; the return is finished by ``checkout.finish_checkout``."""
    await owned_open_invoice(customer_id, invoice_id)
    return await begin_checkout(gateway, invoice_id, return_url=return_url, cancel_url=cancel_url, actor=actor)
