"""Saved payment methods: vault tokens and masked labels, never credentials. Saving is idempotent on the
vault token, so the capture response and the VAULT.PAYMENT-TOKEN.CREATED webhook can both report it; a vault
token saved for one customer is never handed to another.

Saving PayPal without a purchase (trials, "Use another PayPal account") is a ``VaultSetup`` row written before
PayPal is asked: the setup token PayPal issues is bound to the customer (and the trial) that started it, so the
return URL accepts that customer's own token only, and a replay of it returns the method saved the first time.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from app import clock
from app.db import write_transaction
from app.errors import Conflict, NotFound
from app.outbox import service as outbox
from app.payments.customer import PaymentProblem
from app.payments.gateway import GatewayError, PaymentGateway, VaultedMethod, VaultSetup
from tables.payments import PaymentMethod
from tables.payments import VaultSetup as VaultSetupRow

log = logging.getLogger("recurra.payments")


class VaultTokenTaken(Conflict):
    """The vault token is saved already, for another customer: it is not theirs to use."""

    code = "vault_token_taken"


async def save_vaulted_method(customer_id: int, method: VaultedMethod, *, make_default: bool = True) -> int:
    """The PaymentMethod id for ``method``, created on first sight. Call inside or outside a transaction.
    Raises ``VaultTokenTaken`` when the token is saved for another customer (and changes nothing)."""
    async with write_transaction():
        existing = (
            await PaymentMethod.select(PaymentMethod.id, PaymentMethod.customer)
            .where(PaymentMethod.vault_token == method.vault_token)
            .first()
        )
        if existing is not None:
            if existing["customer"] != customer_id:
                log.error("vault token of payment method %s offered for customer %s", existing["id"], customer_id)
                raise VaultTokenTaken("This PayPal account is saved for somebody else.")
            return int(existing["id"])
        if make_default:
            await PaymentMethod.update({PaymentMethod.is_default: False}).where(PaymentMethod.customer == customer_id)
        rows = await PaymentMethod.insert(
            PaymentMethod(
                customer=customer_id,
                gateway="paypal",
                vault_token=method.vault_token,
                label=method.label[:200],
                payer_id=method.payer_id[:50],
                is_default=make_default,
                created_at=clock.now(),
            )
        ).returning(PaymentMethod.id)
        method_id = int(rows[0]["id"])
        await outbox.record(
            "payment_method.saved",
            "payment_method",
            method_id,
            {"payment_method_id": method_id, "customer_id": customer_id, "label": method.label},
        )
        return method_id


async def start_vault_setup(
    gateway: PaymentGateway,
    customer_id: int,
    *,
    return_url: str,
    cancel_url: str,
    subscription_id: int | None = None,
) -> VaultSetup:
    """Save a method without a purchase (for the trial ``subscription_id``, or to change the customer's method):
    send the customer to ``approve_url``; PayPal returns them to ``return_url`` with ``approval_token_id``, which
    ``complete_vault_setup`` takes from this customer only. No money moves. Raises ``PaymentProblem`` when PayPal
    issues no setup token (its words stay on the set-up's row and in the log)."""
    request_id = f"vault-setup-{customer_id}-{uuid.uuid4().hex}"
    now = clock.now()
    rows = await VaultSetupRow.insert(
        VaultSetupRow(customer=customer_id, subscription=subscription_id, request_id=request_id, created_at=now,
                      updated_at=now)
    ).returning(VaultSetupRow.id)  # fmt: skip
    setup_id = int(rows[0]["id"])
    try:
        setup = await gateway.start_vault_setup(return_url=return_url, cancel_url=cancel_url, request_id=request_id)
    except GatewayError as exc:
        await _record_failure(setup_id, exc, {VaultSetupRow.status: VaultSetupRow.Status.failed})
        raise PaymentProblem.of(exc.failure.category, exc.failure.code) from exc
    await VaultSetupRow.update(
        {VaultSetupRow.setup_token: setup.setup_token, VaultSetupRow.updated_at: clock.now()}
    ).where(VaultSetupRow.id == setup_id)
    return setup


async def complete_vault_setup(
    gateway: PaymentGateway, customer_id: int, setup_token: str, *, subscription_id: int | None = None
) -> int:
    """Turn the approved setup token into a saved method, if this customer started that set-up (for the trial
    ``subscription_id``, or for a method change when None); anything else is NotFound and changes nothing. A
    replay returns the method saved the first time; the request id derives from the token, so a retry after a
    lost answer gets the same payment token back. Raises ``PaymentProblem`` when PayPal did not save it."""
    setup = await _own_setup(customer_id, setup_token, subscription_id)
    if setup["payment_method"] is not None:
        return int(setup["payment_method"])
    try:
        method = await gateway.complete_vault_setup(setup_token, request_id=f"vault-{setup_token}")
    except GatewayError as exc:
        await _record_failure(setup["id"], exc, {})  # still started: the customer may come back and try again
        raise PaymentProblem.of(exc.failure.category, exc.failure.code) from exc
    async with write_transaction():
        method_id = await save_vaulted_method(customer_id, method)
        await VaultSetupRow.update(
            {VaultSetupRow.status: VaultSetupRow.Status.saved, VaultSetupRow.payment_method: method_id,
             VaultSetupRow.failure_code: "", VaultSetupRow.failure_message: "", VaultSetupRow.updated_at: clock.now()}
        ).where(VaultSetupRow.id == setup["id"])  # fmt: skip
    return method_id


async def _own_setup(customer_id: int, setup_token: str, subscription_id: int | None) -> dict[str, Any]:
    query = VaultSetupRow.select().where(
        VaultSetupRow.setup_token == (setup_token or "-"), VaultSetupRow.customer == customer_id
    )
    purpose = (
        VaultSetupRow.subscription.is_null()
        if subscription_id is None
        else VaultSetupRow.subscription == subscription_id
    )
    row = await query.where(purpose).first()
    if row is None:
        raise NotFound("There is no such PayPal approval.", code="vault_setup_not_found")
    return dict(row)


async def _record_failure(setup_id: int, error: GatewayError, changes: dict[Any, Any]) -> None:
    """PayPal's words on the set-up's staff record (the adapter has logged them too)."""
    await VaultSetupRow.update(
        {**changes, VaultSetupRow.failure_code: error.failure.code[:100],
         VaultSetupRow.failure_message: error.failure.message[:2000], VaultSetupRow.updated_at: clock.now()}
    ).where(VaultSetupRow.id == setup_id)  # fmt: skip


async def remove_payment_method(gateway: PaymentGateway, payment_method_id: int, *, actor: str) -> None:
    """Delete the token at PayPal first (a GatewayError leaves the method in place), then mark it deleted."""
    row = await PaymentMethod.select().where(PaymentMethod.id == payment_method_id).first()
    if row is None:
        raise NotFound(f"payment method {payment_method_id} does not exist", code="payment_method_not_found")
    if row["status"] == PaymentMethod.Status.deleted:
        return
    await gateway.delete_vaulted(row["vault_token"])
    await mark_deleted(row["vault_token"], actor=actor)


async def mark_deleted(vault_token: str, *, actor: str) -> bool:
    """Mark the method with ``vault_token`` deleted; False when there is none or it already was."""
    async with write_transaction():
        row = await PaymentMethod.select().where(PaymentMethod.vault_token == vault_token).first()
        if row is None or row["status"] == PaymentMethod.Status.deleted:
            return False
        await PaymentMethod.update(
            {PaymentMethod.status: PaymentMethod.Status.deleted, PaymentMethod.is_default: False}
        ).where(PaymentMethod.id == row["id"])
        await outbox.record(
            "payment_method.deleted",
            "payment_method",
            row["id"],
            {"payment_method_id": row["id"], "customer_id": row["customer"], "actor": actor},
        )
        return True
