"""Saved payment methods: vault tokens and masked labels, never credentials. Saving is idempotent on the
vault token, so the capture response and the VAULT.PAYMENT-TOKEN.CREATED webhook can both report it."""

from __future__ import annotations

import uuid

from app import clock
from app.db import write_transaction
from app.errors import NotFound
from app.outbox import service as outbox
from app.payments.gateway import PaymentGateway, VaultedMethod, VaultSetup
from tables.payments import PaymentMethod


async def save_vaulted_method(customer_id: int, method: VaultedMethod, *, make_default: bool = True) -> int:
    """The PaymentMethod id for ``method``, created on first sight. Call inside or outside a transaction."""
    async with write_transaction():
        existing = (
            await PaymentMethod.select(PaymentMethod.id).where(PaymentMethod.vault_token == method.vault_token).first()
        )
        if existing is not None:
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
    gateway: PaymentGateway, customer_id: int, *, return_url: str, cancel_url: str
) -> VaultSetup:
    """Save a method without a purchase (trials): send the customer to ``approve_url``; PayPal returns them to
    ``return_url`` with ``approval_token_id``, which ``complete_vault_setup`` takes. No money moves."""
    return await gateway.start_vault_setup(
        return_url=return_url, cancel_url=cancel_url, request_id=f"vault-setup-{customer_id}-{uuid.uuid4().hex}"
    )


async def complete_vault_setup(gateway: PaymentGateway, customer_id: int, setup_token: str) -> int:
    """Turn the approved setup token into a saved method; the request id derives from the token, so a retry
    after a lost answer gets the same payment token back."""
    method = await gateway.complete_vault_setup(setup_token, request_id=f"vault-{setup_token}")
    return await save_vaulted_method(customer_id, method)


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
