"""The bundled PayPal sandbox for tests: a live Recurra server in embedded PayPal mode (one per session, shared
by the payments and billing tests), the real adapter pointed at it, and its control panel per test, which
checks every PayPal exchange and webhook body against PayPal's schemas afterwards. Conftests import these."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator

import pytest

from app.payments.paypal import PayPalGateway
from app.settings import SANDBOX_MOUNT_PATH
from tests.paypal import SandboxControl, contract_violations, sandbox_gateway
from tests.servers import LiveServer, live_server, server_env


@pytest.fixture(scope="session")
def paypal_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Recurra in embedded PayPal mode. REDIS_URL stays set, so its cron (the reconciler) does not run in
    this process: the tests decide when payments are reconciled."""
    var = tmp_path_factory.mktemp("paypal-var")
    env = server_env(VAR_DIR=str(var), BILLING_CRON="off")
    command = [sys.executable, "-m", "uvicorn", "app.asgi:app", "--host", "127.0.0.1", "--port", env["PORT"]]
    with live_server(command, env, var / "server.log") as running:
        yield running


@pytest.fixture(scope="session")
def api_url(paypal_server: LiveServer) -> str:
    return paypal_server.url + SANDBOX_MOUNT_PATH


@pytest.fixture(scope="session")
def gateway(api_url: str) -> PayPalGateway:
    return sandbox_gateway(api_url)


@pytest.fixture
async def sandbox(api_url: str) -> AsyncIterator[SandboxControl]:
    async with SandboxControl(api_url) as control:
        await control.clear_faults()
        seq, delivered = await control.last_seq(), len(await control.flush())
        await control.mark()
        yield control
        deliveries = await control.flush()  # every webhook answered before the tables are truncated
        await control.clear_faults()
        violations = contract_violations(await control.journal(seq), deliveries[delivered:])
        assert not violations, "\n".join(violations)
