"""Every PayPal REST exchange the sandbox served, as it went over the wire: the contract tests check each
request and response against PayPal's schemas, and demo users can see what Recurra sent."""

from __future__ import annotations

import itertools
import json
import re
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import parse_qsl

from litestar.types import ASGIApp, Receive, Scope, Send

from app.payments.sandbox.faults import FAULT_HEADER

# (method, path pattern, PayPal operationId)
OPERATIONS = [
    ("POST", r"/v1/oauth2/token", "oauth2.token"),
    ("POST", r"/v2/checkout/orders", "orders.create"),
    ("GET", r"/v2/checkout/orders/[^/]+", "orders.get"),
    ("POST", r"/v2/checkout/orders/[^/]+/capture", "orders.capture"),
    ("GET", r"/v2/payments/captures/[^/]+", "captures.get"),
    ("POST", r"/v2/payments/captures/[^/]+/refund", "captures.refund"),
    ("GET", r"/v2/payments/refunds/[^/]+", "refunds.get"),
    ("POST", r"/v3/vault/setup-tokens", "setup-tokens.create"),
    ("GET", r"/v3/vault/setup-tokens/[^/]+", "setup-tokens.get"),
    ("POST", r"/v3/vault/payment-tokens", "payment-tokens.create"),
    ("GET", r"/v3/vault/payment-tokens/[^/]+", "payment-tokens.get"),
    ("DELETE", r"/v3/vault/payment-tokens/[^/]+", "payment-tokens.delete"),
    ("POST", r"/v1/notifications/verify-webhook-signature", "verify-webhook-signature.post"),
    ("GET", r"/v1/notifications/webhooks-events/[^/]+", "webhooks-events.get"),
    ("POST", r"/v1/notifications/webhooks-events/[^/]+/resend", "webhooks-events.resend"),
]
_COMPILED = [(method, re.compile(pattern + "$"), op) for method, pattern, op in OPERATIONS]
KEPT_HEADERS = ("paypal-request-id", "prefer", "content-type")


def operation_of(method: str, path: str) -> str | None:
    path = path.rstrip("/")  # mounted inside Recurra, Litestar hands the sandbox "/v1/oauth2/token/"
    return next((op for m, pattern, op in _COMPILED if m == method and pattern.match(path)), None)


def _json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


@dataclass(slots=True)
class Exchange:
    seq: int
    operation: str
    method: str
    path: str
    request_headers: dict[str, str]
    request_body: Any
    status: int
    response_body: Any
    fault: str = ""  # an answer a fault made off-contract on purpose (garbage_body)


class Journal:
    def __init__(self, size: int = 5000) -> None:
        self.entries: deque[Exchange] = deque(maxlen=size)
        self._seq = itertools.count(1)

    def since(self, after: int) -> list[dict[str, Any]]:
        return [asdict(e) for e in self.entries if e.seq > after]

    def last_seq(self) -> int:
        return self.entries[-1].seq if self.entries else 0

    def middleware(self, app: ASGIApp) -> ASGIApp:
        async def record(scope: Scope, receive: Receive, send: Send) -> None:
            http: dict[str, Any] = dict(scope)  # a read-only view that reads alike for every scope kind
            operation = operation_of(http.get("method", ""), http["path"]) if http["type"] == "http" else None
            if operation is None:
                await app(scope, receive, send)
                return
            request_body, response_body, status, fault = bytearray(), bytearray(), [0], [""]

            async def receive_and_keep() -> Any:
                message = await receive()
                if message["type"] == "http.request":
                    request_body.extend(message.get("body", b""))
                return message

            async def send_and_keep(message: Any) -> None:
                if message["type"] == "http.response.start":
                    status[0] = message["status"]
                    marked = [v for k, v in message.get("headers", []) if k.decode().lower() == FAULT_HEADER]
                    fault[0] = marked[0].decode() if marked else ""
                elif message["type"] == "http.response.body":
                    response_body.extend(message.get("body", b""))
                await send(message)

            try:
                await app(scope, receive_and_keep, send_and_keep)
            finally:
                headers = {k.decode().lower(): v.decode() for k, v in http.get("headers", [])}
                kept = {name: headers[name] for name in KEPT_HEADERS if name in headers}
                body = bytes(request_body)
                parsed = dict(parse_qsl(body.decode(errors="replace"))) if operation == "oauth2.token" else _json(body)
                self.entries.append(
                    Exchange(
                        next(self._seq),
                        operation,
                        http["method"],
                        http["path"],
                        kept,
                        parsed,
                        status[0],
                        _json(bytes(response_body)),
                        fault[0],
                    )
                )

        return record
