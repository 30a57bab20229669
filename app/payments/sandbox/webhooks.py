"""Webhook events: built in PayPal's event shape, signed, and POSTed to the configured URL in the background."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from app.payments.sandbox import ids
from app.payments.sandbox.config import SandboxConfig
from app.payments.sandbox.shapes import link
from app.payments.sandbox.signing import AUTH_ALGO, Signer, signed_message
from app.payments.sandbox.store import timestamp

log = logging.getLogger("recurra.sandbox.webhooks")
DELIVERY_TIMEOUT_S = 30.0
SUMMARIES = {
    "PAYMENT.CAPTURE.COMPLETED": ("capture", "Payment completed for {amount}"),
    "PAYMENT.CAPTURE.DENIED": ("capture", "Payment denied for {amount}"),
    "PAYMENT.CAPTURE.REFUNDED": ("refund", "A {amount} capture payment was refunded"),
    "VAULT.PAYMENT-TOKEN.CREATED": ("payment_token", "A payment token has been created."),
    "VAULT.PAYMENT-TOKEN.DELETED": ("payment_token", "A payment token has been deleted."),
}


def event_bytes(event: Any) -> bytes:
    """The one serialisation of an event: what is sent is what verify-webhook-signature checks."""
    return json.dumps(event, separators=(",", ":")).encode()


@dataclass(slots=True)
class Delivery:
    event_id: str
    event_type: str
    url: str
    headers: dict[str, str]
    body: str
    status: int | None = None
    error: str = ""
    response: str = field(default="", repr=False)


class Dispatcher:
    def __init__(self, config: SandboxConfig, signer: Signer) -> None:
        self.config = config
        self.signer = signer
        self.events: dict[str, dict[str, Any]] = {}
        self.deliveries: list[Delivery] = []
        self.holding = False  # "PayPal's webhooks are late": keep deliveries until released
        self._held: list[Delivery] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def cert_url(self) -> str:
        return f"{self.config.public_url.rstrip('/')}/v1/notifications/certs/{self.signer.cert_id}"

    def emit(self, event_type: str, resource: dict[str, Any], *, copies: int = 1) -> dict[str, Any]:
        resource_type, summary = SUMMARIES[event_type]
        amount = resource.get("amount", {})
        event_id = ids.event_id()
        api = self.config.public_url.rstrip("/")
        event = {
            "id": event_id,
            "event_version": "1.0",
            "create_time": timestamp(),
            "resource_type": resource_type,
            "resource_version": "2.0",
            "event_type": event_type,
            "summary": summary.format(amount=f"{amount.get('currency_code', '')} {amount.get('value', '')}".strip()),
            "resource": resource,
            "links": [
                link(f"{api}/v1/notifications/webhooks-events/{event_id}", "self"),
                link(f"{api}/v1/notifications/webhooks-events/{event_id}/resend", "resend", "POST"),
            ],
        }
        self.events[event_id] = event
        for _ in range(copies):
            self.send(event)
        return event

    def signed_headers(self, body: bytes) -> dict[str, str]:
        while True:
            transmission_id, transmission_time = str(uuid.uuid4()), timestamp()
            message = signed_message(transmission_id, transmission_time, self.config.webhook_id, body)
            signature = self.signer.sign(message)
            if self.signer.is_schema_safe(signature):  # else a new transmission id gives a new signature
                break
        return {
            "Content-Type": "application/json",
            "PAYPAL-TRANSMISSION-ID": transmission_id,
            "PAYPAL-TRANSMISSION-TIME": transmission_time,
            "PAYPAL-TRANSMISSION-SIG": signature,
            "PAYPAL-CERT-URL": self.cert_url(),
            "PAYPAL-AUTH-ALGO": AUTH_ALGO,
        }

    def send(self, event: dict[str, Any]) -> None:
        if not self.config.webhook_url:
            return
        body = event_bytes(event)
        delivery = Delivery(
            event["id"], event["event_type"], self.config.webhook_url, self.signed_headers(body), body.decode()
        )
        self.deliveries.append(delivery)
        if self.holding:
            self._held.append(delivery)
            return
        self._start(delivery)

    def _start(self, delivery: Delivery) -> None:
        task = asyncio.ensure_future(self._deliver(delivery))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def release(self) -> None:
        """Stop holding, and send what was held."""
        self.holding = False
        held, self._held = self._held, []
        for delivery in held:
            self._start(delivery)

    async def _deliver(self, delivery: Delivery) -> None:
        try:
            async with httpx.AsyncClient(timeout=DELIVERY_TIMEOUT_S) as client:
                response = await client.post(delivery.url, content=delivery.body, headers=delivery.headers)
            delivery.status, delivery.response = response.status_code, response.text[:2000]
        except httpx.HTTPError as exc:
            delivery.error = f"{type(exc).__name__}: {exc}"
            log.warning("webhook %s to %s failed: %s", delivery.event_id, delivery.url, delivery.error)

    async def flush(self) -> None:
        """Send anything held, then wait until every delivery has been answered (tests use this, not sleep)."""
        self.release()
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def verify(self, request: dict[str, Any]) -> bool:
        required = (
            "auth_algo",
            "cert_url",
            "transmission_id",
            "transmission_sig",
            "transmission_time",
            "webhook_id",
            "webhook_event",
        )
        if any(not request.get(key) for key in required):
            return False
        if request["auth_algo"] != AUTH_ALGO or request["cert_url"] != self.cert_url():
            return False
        if request["webhook_id"] != self.config.webhook_id:
            return False
        message = signed_message(
            request["transmission_id"],
            request["transmission_time"],
            request["webhook_id"],
            event_bytes(request["webhook_event"]),
        )
        return self.signer.verify(message, request["transmission_sig"])
