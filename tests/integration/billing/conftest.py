"""The billing engine against the bundled sandbox: the payments tests' live server and fixtures, a job
context like the worker's (the real charger, the session's arq worker for e-mail), and saved methods."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest
from arq import Worker

from app.jobs import ArqJobQueue
from app.payments.paypal import PayPalGateway
from app.settings import Settings
from tables.payments import PaymentMethod
from tasks import worker as tasks_worker
from tests import factories
from tests.paypal import SandboxControl

Vaulted = Callable[..., Awaitable[PaymentMethod]]


@pytest.fixture
def job_ctx(settings: Settings, gateway: PayPalGateway, worker: Worker) -> dict[str, Any]:
    """What a worker's jobs find in ctx, with the real charger on the sandbox gateway; mail jobs go to the
    session's arq worker, which sends them to the test mailbox."""
    assert worker.pool is not None
    return {
        "settings": settings,
        "gateway": gateway,
        "queue": ArqJobQueue(worker.pool, tasks_worker.queue_name(settings)),
        **tasks_worker.chargers(gateway, settings.billing),
    }


def with_policy(ctx: dict[str, Any], **billing: Any) -> dict[str, Any]:
    settings: Settings = ctx["settings"]
    changed = replace(settings, billing=replace(settings.billing, **billing))
    return {**ctx, "settings": changed, **tasks_worker.chargers(ctx["gateway"], changed.billing)}


@pytest.fixture
def vaulted(sandbox: SandboxControl) -> Vaulted:
    """A saved PayPal method for a customer, vaulted in the sandbox for ``email``."""

    async def make(customer_id: int, email: str = "buyer@example.com") -> PaymentMethod:
        [token] = await sandbox.vault(email)
        return await factories.payment_method(token, customer=customer_id)

    return make
