"""PayPal's REST paths as the sandbox serves them: OAuth2 token, Orders v2, Payments v2, Vault v3 and webhook
signature verification."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from litestar import Request, Response, delete, get, post
from litestar.datastructures import State
from litestar.params import FromPath

from app.payments.sandbox import orders, vault
from app.payments.sandbox.core import authorized, json_response, money_call, read_json, sandbox_of
from app.payments.sandbox.errors import PayPalError, found

SCOPES = ("payments/payment", "payments/refund", "vault/payment-tokens/readwrite", "applications/webhooks")
GRANTED_SCOPE = " ".join(f"https://uri.paypal.com/services/{scope}" for scope in SCOPES)


def _basic_client(request: Request[Any, Any, State]) -> tuple[str, str]:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    try:
        client_id, _, secret = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    return (client_id, secret) if scheme.lower() == "basic" else ("", "")


@post("/v1/oauth2/token")
async def oauth_token(request: Request[Any, Any, State]) -> Response[Any]:
    sandbox = sandbox_of(request)
    client_id, secret = _basic_client(request)
    if not client_id or sandbox.config.clients.get(client_id) != secret:
        return json_response(401, {"error": "invalid_client", "error_description": "Client Authentication failed"})
    form = await request.form()
    if form.get("grant_type") != "client_credentials":
        return json_response(400, {"error": "unsupported_grant_type", "error_description": "Grant Type is NULL"})
    token = sandbox.store.issue_token(client_id, sandbox.config.token_ttl_s)
    return json_response(
        200,
        {
            "scope": GRANTED_SCOPE,
            "access_token": token,
            "token_type": "Bearer",
            "app_id": "APP-80W284485P519543T",
            "expires_in": sandbox.config.token_ttl_s,
            "nonce": f"{token[-12:]}",
        },
    )


@post("/v2/checkout/orders")
async def create_order(request: Request[Any, Any, State]) -> Response[Any]:
    return await money_call(request, "orders.create", orders.create, payer_of=orders.vault_payer)


@get("/v2/checkout/orders/{order_id:str}")
async def get_order(request: Request[Any, Any, State], order_id: FromPath[str]) -> Response[Any]:
    sandbox = authorized(request)
    order = orders.order_or_404(sandbox, order_id)
    captures = [sandbox.store.captures[c] for c in order.capture_ids]
    return json_response(200, sandbox.shapes.order(order, captures, full=True))


@post("/v2/checkout/orders/{order_id:str}/capture")
async def capture_order(request: Request[Any, Any, State], order_id: FromPath[str]) -> Response[Any]:
    def payer(sandbox: Any, body: dict[str, Any]) -> str | None:
        order = sandbox.store.orders.get(order_id)
        return order.payer.email if order is not None and order.payer is not None else None

    return await money_call(
        request, "orders.capture", lambda sb, body, faults, full: orders.capture(sb, order_id, faults, full), payer
    )


@get("/v2/payments/captures/{capture_id:str}")
async def get_capture(request: Request[Any, Any, State], capture_id: FromPath[str]) -> Response[Any]:
    sandbox = authorized(request)
    return json_response(200, sandbox.shapes.capture(orders.capture_or_404(sandbox, capture_id), related=True))


@post("/v2/payments/captures/{capture_id:str}/refund")
async def refund_capture(request: Request[Any, Any, State], capture_id: FromPath[str]) -> Response[Any]:
    return await money_call(
        request, "captures.refund", lambda sb, body, faults, full: orders.refund(sb, capture_id, body, faults, full)
    )


@get("/v2/payments/refunds/{refund_id:str}")
async def get_refund(request: Request[Any, Any, State], refund_id: FromPath[str]) -> Response[Any]:
    sandbox = authorized(request)
    return json_response(200, sandbox.shapes.refund(found(sandbox.store.refunds, refund_id, api_doc="payments/v2")))


@post("/v3/vault/setup-tokens")
async def create_setup_token(request: Request[Any, Any, State]) -> Response[Any]:
    return await money_call(request, "setup-tokens.create", vault.create_setup_token)


@get("/v3/vault/setup-tokens/{token_id:str}")
async def get_setup_token(request: Request[Any, Any, State], token_id: FromPath[str]) -> Response[Any]:
    sandbox = authorized(request)
    return json_response(200, sandbox.shapes.setup_token(vault.setup_token_or_404(sandbox, token_id)))


@post("/v3/vault/payment-tokens")
async def create_payment_token(request: Request[Any, Any, State]) -> Response[Any]:
    return await money_call(request, "payment-tokens.create", vault.create_payment_token)


@get("/v3/vault/payment-tokens/{token_id:str}")
async def get_payment_token(request: Request[Any, Any, State], token_id: FromPath[str]) -> Response[Any]:
    sandbox = authorized(request)
    return json_response(200, sandbox.shapes.payment_token(vault.payment_token_or_404(sandbox, token_id)))


@delete("/v3/vault/payment-tokens/{token_id:str}", status_code=204)
async def delete_payment_token(request: Request[Any, Any, State], token_id: FromPath[str]) -> None:
    sandbox = authorized(request)
    faults = sandbox.faults.fire("payment-tokens.delete")
    status = faults.http_status()
    if status is not None:
        raise PayPalError(status, api_doc="vault")
    vault.delete_payment_token(sandbox, token_id)


@post("/v1/notifications/verify-webhook-signature")
async def verify_webhook_signature(request: Request[Any, Any, State]) -> Response[Any]:
    sandbox = authorized(request)
    body = await read_json(request)
    verified = sandbox.webhooks.verify(body)
    return json_response(200, {"verification_status": "SUCCESS" if verified else "FAILURE"})


@get("/v1/notifications/webhooks-events/{event_id:str}")
async def get_event(request: Request[Any, Any, State], event_id: FromPath[str]) -> Response[Any]:
    sandbox = authorized(request)
    return json_response(200, found(sandbox.webhooks.events, event_id, api_doc="webhooks/v1"))


@post("/v1/notifications/webhooks-events/{event_id:str}/resend")
async def resend_event(request: Request[Any, Any, State], event_id: FromPath[str]) -> Response[Any]:
    """PayPal's manual redelivery: the same event (same id), signed afresh."""
    sandbox = authorized(request)
    event = found(sandbox.webhooks.events, event_id, api_doc="webhooks/v1")
    sandbox.webhooks.send(event)
    return json_response(202, event)


@get("/v1/notifications/certs/{cert_id:str}", media_type="text/plain")
async def signing_cert(request: Request[Any, Any, State], cert_id: FromPath[str]) -> Response[bytes]:
    sandbox = sandbox_of(request)
    if cert_id != sandbox.webhooks.signer.cert_id:
        raise PayPalError(404, "INVALID_RESOURCE_ID", "Specified resource ID does not exist.")
    return Response(sandbox.webhooks.signer.cert_pem(), media_type="application/x-pem-file")


ROUTES = [
    oauth_token,
    create_order,
    get_order,
    capture_order,
    get_capture,
    refund_capture,
    get_refund,
    create_setup_token,
    get_setup_token,
    create_payment_token,
    get_payment_token,
    delete_payment_token,
    verify_webhook_signature,
    get_event,
    resend_event,
    signing_cert,
]
