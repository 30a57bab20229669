"""Test helpers for PayPal paths: drive the bundled sandbox's control panel, play the buyer on its approval
pages, and point the real adapter (paypal-checkout-serversdk over HTTP) at a running sandbox."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import replace
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from app.payments.gateway import ChargeResult
from app.payments.paypal import PayPalGateway
from app.settings import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_WEBHOOK_ID, PayPalSettings
from tables.payments import Payment
from tests.contract import paypal_contract

TIMEOUT_S = 2.0  # the adapter's timeout in tests: "timeout after capture" faults hold answers longer
HELD_S = 4.0  # how long such a fault holds the answer


def sandbox_gateway(api_url: str, timeout_s: float = TIMEOUT_S) -> PayPalGateway:
    settings = PayPalSettings(
        mode="sandbox",
        client_id=SANDBOX_CLIENT_ID,
        client_secret=SANDBOX_CLIENT_SECRET,
        webhook_id=SANDBOX_WEBHOOK_ID,
        base_url="http://unused.invalid",
    )
    return PayPalGateway(replace(settings, api_url_override=api_url), brand_name="Recurra Test", timeout_s=timeout_s)


class SandboxControl:
    """The sandbox's /_control panel (faults, journal, ledger, webhooks) over HTTP."""

    def __init__(self, api_url: str) -> None:
        self.api_url = api_url
        self.http = httpx.AsyncClient(base_url=api_url + "/_control", timeout=30)

    async def __aenter__(self) -> SandboxControl:
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.http.aclose()

    async def arm(self, kind: str, **fields: Any) -> None:
        response = await self.http.post("/faults", json={"kind": kind, **fields})
        assert response.status_code == 201, response.text

    async def clear_faults(self) -> None:
        assert (await self.http.delete("/faults")).status_code == 204

    async def journal(self, after: int = 0) -> list[dict[str, Any]]:
        return (await self.http.get("/journal", params={"after": after})).json()["entries"]  # type: ignore[no-any-return]

    async def last_seq(self) -> int:
        return (await self.http.get("/journal", params={"after": 1 << 60})).json()["last"]  # type: ignore[no-any-return]

    async def ledger(self) -> dict[str, list[dict[str, Any]]]:
        return (await self.http.get("/ledger")).json()  # type: ignore[no-any-return]

    async def flush(self) -> list[dict[str, Any]]:
        """Every webhook delivery so far, once all of them have been answered."""
        return (await self.http.post("/webhooks/flush")).json()["deliveries"]  # type: ignore[no-any-return]

    async def hold_webhooks(self) -> None:
        """Webhooks wait for the next flush, so a test can watch the state before PayPal's news arrives."""
        assert (await self.http.post("/webhooks/hold")).status_code == 204

    async def vault(self, payer_email: str, count: int = 1) -> list[str]:
        """Vault tokens for ``payer_email`` without the approval pages (the control panel's bulk seeding)."""
        response = await self.http.post("/vault/payment-tokens", json={"payer_email": payer_email, "count": count})
        assert response.status_code == 201, response.text
        return response.json()["ids"]  # type: ignore[no-any-return]

    async def expire_tokens(self) -> None:
        assert (await self.http.post("/tokens/expire")).status_code == 204

    async def mark(self) -> None:
        """Remember what the sandbox already holds: the sandbox outlives each test's database."""
        self._seen = {c["id"] for c in (await self.ledger())["captures"]}
        self._seen_refunds = {r["id"] for r in (await self.ledger())["refunds"]}

    async def new_captures(self) -> list[dict[str, Any]]:
        return [c for c in (await self.ledger())["captures"] if c["id"] not in self._seen]

    async def new_refunds(self) -> list[dict[str, Any]]:
        return [r for r in (await self.ledger())["refunds"] if r["id"] not in self._seen_refunds]

    async def captures_of(self, order_id: str) -> list[dict[str, Any]]:
        return [c for c in (await self.ledger())["captures"] if c["order_id"] == order_id]


def contract_violations(entries: list[dict[str, Any]], deliveries: list[dict[str, Any]]) -> list[str]:
    """Every exchange and webhook body checked against PayPal's schemas; the OAuth2 call has none published."""
    problems: list[str] = []
    for entry in entries:
        operation = entry["operation"]
        if operation not in paypal_contract.operations() or entry.get("fault"):
            continue
        where = f"#{entry['seq']} {operation} {entry['status']}"
        problems += [f"{where} request {e}" for e in paypal_contract.request_errors(operation, entry["request_body"])]
        problems += [
            f"{where} response {e}"
            for e in paypal_contract.response_errors(operation, entry["status"], entry["response_body"])
        ]
    for delivery in deliveries:
        problems += [
            f"webhook {delivery['event_type']} {e}" for e in paypal_contract.event_errors(json.loads(delivery["body"]))
        ]
    return problems


class Buyer:
    """A payer on the sandbox's approval pages, submitting the same forms a browser would."""

    def __init__(self, email: str = "buyer@example.com") -> None:
        self.email = email

    async def decide(self, approve_url: str, decision: str) -> dict[str, str]:
        """Open the page, press Approve or Cancel; returns the query PayPal appends to the merchant's URL."""
        async with httpx.AsyncClient(timeout=30) as http:
            page = await http.get(approve_url)
            assert page.status_code == 200, page.text
            assert 'name="decision" value="approve"' in page.text
            token = parse_qs(urlsplit(approve_url).query)
            hidden = (token.get("token") or token.get("approval_session_id") or [""])[0]
            action = urljoin(approve_url, "approve" if "/agreements/" in approve_url else "checkoutnow")
            answer = await http.post(action, data={"id": hidden, "email": self.email, "decision": decision})
        assert answer.status_code == 303, answer.text
        location = answer.headers["location"]
        self.last_redirect = location
        return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}

    async def approve(self, approve_url: str) -> dict[str, str]:
        return await self.decide(approve_url, "approve")

    async def cancel(self, approve_url: str) -> dict[str, str]:
        return await self.decide(approve_url, "cancel")


class RaceGate:
    """The adapter with its money calls held at the gateway's door: a call waits there until ``parties`` calls
    are waiting, or until no payment is ``pending`` any more (every other racer has decided not to call). Two
    racers that both passed their checks therefore reach PayPal together, on every run; a racer that a claim
    turned away lets the other one through at once (``orders``: watch only the racers' payments, when other
    checkouts stay pending). Other calls pass straight to the adapter."""

    def __init__(self, inner: PayPalGateway, parties: int = 2, orders: Sequence[str] = ()) -> None:
        self.inner = inner
        self.parties = parties
        self.orders = list(orders)  # the racers' orders, when other checkouts wait for buyers who never come
        self.waiting = 0
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def _door(self) -> None:
        self.waiting += 1
        self.calls += 1
        for _ in range(500):  # 10 s at most: a stuck race fails its assertions instead of hanging
            pending = Payment.exists().where(Payment.status == "pending")
            if self.orders:
                pending = pending.where(Payment.gateway_order_id.is_in(self.orders))
            if self.waiting >= self.parties or not await pending:
                return
            await asyncio.sleep(0.02)

    async def capture_checkout(self, order_id: str, *, request_id: str) -> ChargeResult:
        await self._door()
        return await self.inner.capture_checkout(order_id, request_id=request_id)

    async def charge_vaulted(self, **call: Any) -> ChargeResult:
        await self._door()
        return await self.inner.charge_vaulted(**call)
