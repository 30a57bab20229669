"""The sandbox object every handler works on, and the request plumbing PayPal's REST calls share:
bearer authentication, JSON bodies, Prefer, PayPal-Request-Id replay and the faults around the work."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from litestar import Request, Response

from app.payments.sandbox.config import SandboxConfig
from app.payments.sandbox.errors import IN_PROGRESS, PayPalError
from app.payments.sandbox.faults import FAULT_HEADER, GARBAGE, FaultBook, FaultKind, FiredFaults
from app.payments.sandbox.shapes import Shapes
from app.payments.sandbox.signing import Signer
from app.payments.sandbox.store import Reply, Store
from app.payments.sandbox.webhooks import Dispatcher

# Operations whose spec documents "200 OK for an idempotent request": a replay answers 200, others repeat.
REPLAY_AS_200 = {"orders.create", "orders.capture", "setup-tokens.create", "payment-tokens.create"}

Work = Callable[["Sandbox", dict[str, Any], FiredFaults, bool], Reply]


class Sandbox:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.store = Store()
        self.faults = FaultBook()
        self.shapes = Shapes(config.public_url)
        self.webhooks = Dispatcher(config, Signer())

    def copies(self, faults: FiredFaults) -> int:
        return 2 if faults.has(FaultKind.DUPLICATE_WEBHOOK) else 1


def sandbox_of(request: Request[Any, Any, Any]) -> Sandbox:
    sandbox: Sandbox = request.app.state.sandbox
    return sandbox


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(content=body, status_code=status, media_type="application/json", headers=headers)


async def read_json(request: Request[Any, Any, Any]) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise PayPalError(400, "MALFORMED_REQUEST_JSON", "The request JSON is not well formed.") from None
    if not isinstance(body, dict):
        raise PayPalError(400, "MALFORMED_REQUEST_JSON", "The request JSON is not an object.")
    return body


def authenticate(sandbox: Sandbox, request: Request[Any, Any, Any]) -> str:
    """The client id behind a live bearer token, or a 401 as PayPal answers it."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    client_id = sandbox.store.client_of(token.strip()) if scheme.lower() == "bearer" else None
    if client_id is None:
        raise PayPalError(401)
    return client_id


def authorized(request: Request[Any, Any, Any]) -> Sandbox:
    """The sandbox, once the caller's bearer token is checked."""
    sandbox = sandbox_of(request)
    authenticate(sandbox, request)
    return sandbox


def wants_representation(request: Request[Any, Any, Any]) -> bool:
    return "return=representation" in request.headers.get("prefer", "")


async def money_call(
    request: Request[Any, Any, Any],
    operation: str,
    work: Work,
    payer_of: Callable[[Sandbox, dict[str, Any]], str | None] = lambda sandbox, body: None,
) -> Response[Any]:
    """Run ``work`` once per PayPal-Request-Id, with the faults armed for this call around it."""
    sandbox = sandbox_of(request)
    client_id = authenticate(sandbox, request)
    body = await read_json(request)
    request_id = request.headers.get("paypal-request-id")
    replay = sandbox.store.reply_for(client_id, operation, request_id)
    if replay is not None:
        return json_response(200 if operation in REPLAY_AS_200 else replay.status, replay.body)
    call = (client_id, operation, request_id or "")
    if request_id and call in sandbox.store.in_flight:
        # As PayPal answers a repeat of a call it is still working on: 409, try again later with the same id.
        raise PayPalError(409, *IN_PROGRESS)
    if request_id:
        sandbox.store.in_flight.add(call)
    try:
        faults = sandbox.faults.fire(operation, payer_of(sandbox, body))
        if faults.has(FaultKind.SLOW):
            await asyncio.sleep(faults.delays[FaultKind.SLOW])
        status = faults.http_status()
        if status is not None:
            raise PayPalError(status)
        if faults.has(FaultKind.GARBAGE_BODY):
            headers = {FAULT_HEADER: FaultKind.GARBAGE_BODY.value}
            return Response(GARBAGE, status_code=200, media_type="application/json", headers=headers)
        reply = work(sandbox, body, faults, wants_representation(request))
        sandbox.store.remember(client_id, operation, request_id, reply)
    finally:
        sandbox.store.in_flight.discard(call)
    if faults.has(FaultKind.TIMEOUT_AFTER_CAPTURE):
        # The work is done and remembered; the caller gives up waiting before it hears about it.
        await asyncio.sleep(faults.delays[FaultKind.TIMEOUT_AFTER_CAPTURE])
    return json_response(reply.status, reply.body)
