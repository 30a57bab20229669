"""Vault v3: a setup token the payer approves, turned into a payment token the merchant charges later."""

from __future__ import annotations

from typing import Any

from app.payments.sandbox import ids
from app.payments.sandbox.core import Sandbox
from app.payments.sandbox.errors import PayPalError, found
from app.payments.sandbox.faults import FiredFaults
from app.payments.sandbox.store import PaymentToken, Reply, SetupToken


def create_setup_token(sandbox: Sandbox, body: dict[str, Any], faults: FiredFaults, full: bool) -> Reply:
    source = body.get("payment_source", {}).get("paypal")
    if not isinstance(source, dict):
        raise PayPalError(400, "MISSING_REQUIRED_PARAMETER", "A required field is missing.", "/payment_source")
    context = source.get("experience_context", {})
    token = SetupToken(
        ids.resource_id(),
        "PAYER_ACTION_REQUIRED",
        context.get("return_url", ""),
        context.get("cancel_url", ""),
        context.get("brand_name", ""),
    )
    sandbox.store.setup_tokens[token.id] = token
    return Reply(201, sandbox.shapes.setup_token(token))


def setup_token_or_404(sandbox: Sandbox, token_id: str) -> SetupToken:
    return found(sandbox.store.setup_tokens, token_id, api_doc="vault")


def create_payment_token(sandbox: Sandbox, body: dict[str, Any], faults: FiredFaults, full: bool) -> Reply:
    source = body.get("payment_source", {}).get("token", {})
    if source.get("type") != "SETUP_TOKEN" or not source.get("id"):
        raise PayPalError(400, "MISSING_REQUIRED_PARAMETER", "A setup token is required.", "/payment_source/token")
    setup = setup_token_or_404(sandbox, str(source["id"]))
    if setup.status != "APPROVED" or setup.payer is None:
        raise PayPalError(422, "SETUP_TOKEN_NOT_APPROVED", "The payer has not approved this setup token.")
    token = PaymentToken(ids.payment_token_id(), setup.payer)
    sandbox.store.payment_tokens[token.id] = token
    setup.status = "VAULTED"
    sandbox.webhooks.emit(
        "VAULT.PAYMENT-TOKEN.CREATED", sandbox.shapes.payment_token(token), copies=sandbox.copies(faults)
    )
    return Reply(201, sandbox.shapes.payment_token(token))


def payment_token_or_404(sandbox: Sandbox, token_id: str) -> PaymentToken:
    return found(sandbox.store.payment_tokens, token_id, api_doc="vault")


def delete_payment_token(sandbox: Sandbox, token_id: str) -> None:
    token = sandbox.store.payment_tokens.pop(token_id, None)
    if token is not None:  # deleting twice is not an error: the token is gone either way
        sandbox.webhooks.emit("VAULT.PAYMENT-TOKEN.DELETED", sandbox.shapes.payment_token(token))
