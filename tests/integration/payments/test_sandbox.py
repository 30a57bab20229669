"""The sandbox as PayPal's stand-in: run alone, OAuth2 with expiring tokens, PayPal-Request-Id, error bodies,
and one call of every operation checked against PayPal's schemas."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.money import Money
from app.payments.gateway import ChargeStatus, GatewayError
from app.payments.paypal import PayPalGateway
from app.settings import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from tests.contract import paypal_contract
from tests.paypal import Buyer, SandboxControl, contract_violations, sandbox_gateway
from tests.servers import ROOT
from tests.smtp import free_port


@pytest.fixture(scope="module")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m app.payments.sandbox --port N`, with no webhook target."""
    port = free_port()
    log = tmp_path_factory.mktemp("sandbox") / "sandbox.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.payments.sandbox", "--port", str(port)],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/_control/faults").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, Path(log).read_text()
            assert time.monotonic() < deadline, Path(log).read_text()
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


def token(url: str, client_id: str = SANDBOX_CLIENT_ID, secret: str = SANDBOX_CLIENT_SECRET) -> httpx.Response:
    return httpx.post(url + "/v1/oauth2/token", auth=(client_id, secret), data={"grant_type": "client_credentials"})


def test_oauth2_client_credentials(standalone: str) -> None:
    granted = token(standalone)
    assert granted.status_code == 200
    body = granted.json()
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 32400)
    refused = token(standalone, secret="wrong")
    assert refused.status_code == 401
    assert refused.json() == {"error": "invalid_client", "error_description": "Client Authentication failed"}


def test_bad_bearer_token_is_401_with_paypals_error_body(standalone: str) -> None:
    answer = httpx.get(standalone + "/v2/checkout/orders/ANYORDER", headers={"Authorization": "Bearer nope"})
    assert answer.status_code == 401
    assert answer.json()["name"] == "AUTHENTICATION_FAILURE"
    assert not paypal_contract.response_errors("orders.get", 401, answer.json())


def test_unknown_order_is_404_with_an_issue(standalone: str) -> None:
    bearer = {"Authorization": "Bearer " + token(standalone).json()["access_token"]}
    answer = httpx.get(standalone + "/v2/checkout/orders/NOSUCHORDER", headers=bearer)
    assert answer.status_code == 404
    body = answer.json()
    assert (body["name"], body["details"][0]["issue"]) == ("RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
    assert body["debug_id"]
    assert not paypal_contract.response_errors("orders.get", 404, body)


async def test_standalone_sandbox_serves_the_adapter(standalone: str) -> None:
    gateway = sandbox_gateway(standalone)
    session = await gateway.start_checkout(
        amount=Money(999, "EUR"),
        description="Standalone",
        reference="alone-1",
        return_url="https://x.example/r",
        cancel_url="https://x.example/c",
        request_id="alone-1-order",
    )
    assert session.approve_url.startswith(standalone + "/checkoutnow?token=")
    await Buyer().approve(session.approve_url)
    result = await gateway.capture_checkout(session.order_id, request_id="alone-1")
    assert result.status == ChargeStatus.SUCCEEDED
    assert result.amount == Money(999, "EUR")
    assert result.vault_token


async def test_same_request_id_returns_the_first_order(gateway: PayPalGateway, sandbox: SandboxControl) -> None:
    args = {
        "amount": Money(1000, "USD"),
        "description": "x",
        "reference": "ref",
        "return_url": "https://x.example/r",
        "cancel_url": "https://x.example/c",
    }
    first = await gateway.start_checkout(**args, request_id="same-id-create")  # type: ignore[arg-type]
    again = await gateway.start_checkout(**args, request_id="same-id-create")  # type: ignore[arg-type]
    other = await gateway.start_checkout(**args, request_id="other-id-create")  # type: ignore[arg-type]
    assert first.order_id == again.order_id != other.order_id
    statuses = [e["status"] for e in await sandbox.journal() if e["operation"] == "orders.create"][-3:]
    assert statuses == [201, 200, 201]  # PayPal answers an idempotent repeat with 200 OK


async def test_expired_access_token_logs_in_again(gateway: PayPalGateway, sandbox: SandboxControl) -> None:
    seq = await sandbox.last_seq()
    await sandbox.expire_tokens()
    session = await gateway.start_checkout(
        amount=Money(100, "USD"),
        description="x",
        reference="r",
        return_url="https://x.example/r",
        cancel_url="https://x.example/c",
        request_id="after-expiry",
    )
    assert session.order_id
    calls = [(e["operation"], e["status"]) for e in await sandbox.journal(seq)]
    assert calls == [("orders.create", 401), ("oauth2.token", 200), ("orders.create", 201)]


async def test_every_operation_conforms_to_paypals_schemas(gateway: PayPalGateway, sandbox: SandboxControl) -> None:
    """One pass over every operation Recurra uses, success and refusal, each exchange checked."""
    seq = await sandbox.last_seq()
    amount = Money(2000, "USD")
    session = await gateway.start_checkout(
        amount=amount,
        description="All",
        reference="all",
        request_id="all-order",
        return_url="https://x.example/r",
        cancel_url="https://x.example/c",
    )
    with pytest.raises(GatewayError, match="ORDER_NOT_APPROVED"):
        await gateway.capture_checkout(session.order_id, request_id="all-too-early")
    await Buyer().approve(session.approve_url)
    await gateway.get_order(session.order_id)
    captured = await gateway.capture_checkout(session.order_id, request_id="all-capture")
    assert captured.vault_token
    assert captured.capture_id
    charged = await gateway.charge_vaulted(
        vault_token=captured.vault_token, amount=amount, description="MIT", reference="all-mit", request_id="all-mit"
    )
    assert charged.status == ChargeStatus.SUCCEEDED
    await sandbox.arm("instrument_declined", operation="orders.create")
    declined = await gateway.charge_vaulted(
        vault_token=captured.vault_token,
        amount=amount,
        description="MIT",
        reference="all-mit-2",
        request_id="all-mit-2",
    )
    assert declined.status == ChargeStatus.DECLINED
    refunded = await gateway.refund(captured.capture_id, Money(500, "USD"), request_id="all-refund", note="part")
    assert refunded.status == ChargeStatus.SUCCEEDED
    with pytest.raises(GatewayError, match="REFUND_AMOUNT_EXCEEDED"):
        await gateway.refund(captured.capture_id, Money(5000, "USD"), request_id="all-refund-2", note="")
    setup = await gateway.start_vault_setup(
        return_url="https://x.example/r", cancel_url="https://x.example/c", request_id="all-setup"
    )
    await Buyer().approve(setup.approve_url)
    vaulted = await gateway.complete_vault_setup(setup.setup_token, request_id="all-vault")
    await gateway.delete_vaulted(vaulted.vault_token)
    api = sandbox.api_url
    async with httpx.AsyncClient(base_url=api) as http:
        granted = await http.post(
            "/v1/oauth2/token",
            auth=(SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET),
            data={"grant_type": "client_credentials"},
        )
        bearer = {"Authorization": "Bearer " + granted.json()["access_token"]}
        for path in (
            f"/v2/payments/captures/{captured.capture_id}",
            f"/v3/vault/setup-tokens/{setup.setup_token}",
            f"/v3/vault/payment-tokens/{captured.vault_token}",
            f"/v2/payments/refunds/{refunded.refund_id}",
        ):
            assert (await http.get(path, headers=bearer)).status_code == 200
        # An event's HATEOAS links work: read it, and ask PayPal to deliver it again.
        event = json.loads((await sandbox.flush())[-1]["body"])
        for link in event["links"]:
            body = {} if link["method"] == "POST" else None
            answer = await http.request(link["method"], link["href"], headers=bearer, json=body)
            assert answer.status_code == (202 if link["rel"] == "resend" else 200)
    deliveries = await sandbox.flush()

    entries = await sandbox.journal(seq)
    assert not contract_violations(entries, deliveries)
    assert {e["operation"] for e in entries} >= set(paypal_contract.operations()) - {"verify-webhook-signature.post"}
    assert any(e["operation"] == "verify-webhook-signature.post" for e in await sandbox.journal())
