"""The sandbox's own control panel (not PayPal's API): arm faults, read the journal and the ledger, wait for
webhook deliveries, expire access tokens. Tests and demos drive the sandbox through it."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from litestar import Request, Response, delete, get, post
from litestar.datastructures import State
from litestar.params import FromQuery

from app.payments.sandbox.core import json_response, read_json, sandbox_of
from app.payments.sandbox.errors import PayPalError
from app.payments.sandbox.faults import Fault, FaultKind
from app.payments.sandbox.ids import payment_token_id
from app.payments.sandbox.store import PaymentToken

MAX_TOKENS = 100_000


@post("/_control/faults")
async def arm_fault(request: Request[Any, Any, State]) -> Response[Any]:
    body = await read_json(request)
    try:
        fault = Fault(
            kind=FaultKind(str(body.get("kind"))),
            operation=body.get("operation"),
            payer_email=body.get("payer_email"),
            times=int(body.get("times", 1)),
            delay_s=float(body.get("delay_s", 0)),
        )
    except (ValueError, TypeError) as exc:
        raise PayPalError(400, "INVALID_PARAMETER_VALUE", str(exc)) from None
    sandbox_of(request).faults.arm(fault)
    return json_response(201, asdict(fault))


@get("/_control/faults")
async def list_faults(request: Request[Any, Any, State]) -> Response[Any]:
    return json_response(200, {"faults": [asdict(f) for f in sandbox_of(request).faults.armed()]})


@delete("/_control/faults", status_code=204)
async def clear_faults(request: Request[Any, Any, State]) -> None:
    sandbox_of(request).faults.clear()


@get("/_control/journal")
async def journal(request: Request[Any, Any, State], after: FromQuery[int] = 0) -> Response[Any]:
    entries = request.app.state.journal
    return json_response(200, {"last": entries.last_seq(), "entries": entries.since(after)})


@get("/_control/ledger")
async def ledger(request: Request[Any, Any, State]) -> Response[Any]:
    """Money as the sandbox holds it: every capture and refund, for checking nothing was charged twice."""
    store = sandbox_of(request).store
    captures = [
        {
            "id": c.id,
            "order_id": c.order_id,
            "status": c.status,
            "payer_email": c.payer.email,
            "amount": c.amount.to_decimal_string(),
            "currency": c.amount.currency,
            "refunded": c.refunded,
        }
        for c in store.captures.values()
    ]
    refunds = [
        {"id": r.id, "capture_id": r.capture_id, "amount": r.amount.to_decimal_string(), "currency": r.amount.currency}
        for r in store.refunds.values()
    ]
    return json_response(200, {"captures": captures, "refunds": refunds})


@get("/_control/webhooks")
async def deliveries(request: Request[Any, Any, State]) -> Response[Any]:
    return json_response(200, {"deliveries": [asdict(d) for d in sandbox_of(request).webhooks.deliveries]})


@post("/_control/webhooks/flush")
async def flush_webhooks(request: Request[Any, Any, State]) -> Response[Any]:
    """Answer once every webhook in flight has been delivered (and answered) or has failed."""
    webhooks = sandbox_of(request).webhooks
    await webhooks.flush()
    return json_response(200, {"deliveries": [asdict(d) for d in webhooks.deliveries]})


@post("/_control/webhooks/hold", status_code=204)
async def hold_webhooks(request: Request[Any, Any, State]) -> None:
    """Keep webhooks undelivered until the next flush: PayPal's notifications can arrive late."""
    sandbox_of(request).webhooks.holding = True


@post("/_control/tokens/expire", status_code=204)
async def expire_tokens(request: Request[Any, Any, State]) -> None:
    sandbox_of(request).store.expire_tokens()


@post("/_control/vault/payment-tokens")
async def vault_payment_tokens(request: Request[Any, Any, State]) -> Response[Any]:
    """Vault ``count`` payment tokens for the payer ``payer_email`` at once, as if they had approved that many
    setup tokens: seeding for benchmarks and tests that need saved methods but not the approval pages."""
    body = await read_json(request)
    email, count = str(body.get("payer_email") or ""), body.get("count", 1)
    if "@" not in email or not isinstance(count, int) or not 0 < count <= MAX_TOKENS:
        raise PayPalError(400, "INVALID_PARAMETER_VALUE", f"payer_email and 1 <= count <= {MAX_TOKENS} required")
    store = sandbox_of(request).store
    payer = store.payer(email)
    tokens = [PaymentToken(payment_token_id(), payer) for _ in range(count)]
    store.payment_tokens.update((token.id, token) for token in tokens)
    return json_response(201, {"payer_id": payer.payer_id, "ids": [token.id for token in tokens]})


ROUTES = [
    arm_fault,
    list_faults,
    clear_faults,
    journal,
    ledger,
    deliveries,
    flush_webhooks,
    hold_webhooks,
    expire_tokens,
    vault_payment_tokens,
]
