"""Portal flows through PayPal: the in-process app (httpx client) talks to the sandbox served by a live
Recurra process over HTTP, so the real SDK runs; tests play the buyer on the sandbox's approval pages."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from litestar import Litestar

from app.payments.paypal import PayPalGateway
from tables.accounts import Customer
from tables.catalog import Plan
from tests import factories
from tests.integration.payments.conftest import buyer  # noqa: F401 - fixture
from tests.paypal import Buyer
from tests.portal import log_in, sign_up, submit


@pytest.fixture(autouse=True)
def portal_gateway(app: Litestar, gateway: PayPalGateway) -> Iterator[PayPalGateway]:
    """The portal's gateway points at the live sandbox (the in-process app has no socket of its own)."""
    previous = app.state.gateway
    app.state.gateway = gateway
    yield gateway
    app.state.gateway = previous


@dataclass
class Catalog:
    basic: Plan  # 7-day trial, $9/month
    plus: Plan  # $19/month
    pro: Plan  # $29/month
    plus_yearly: Plan  # $190/year


@pytest.fixture
async def catalog() -> Catalog:
    product = await factories.product(name="Library")
    plans = [
        await factories.plan(product=product.id, code=code, name=name, amount_minor=amount, interval=interval,
                             trial_days=trial, sort_order=order)
        for order, (code, name, amount, interval, trial) in enumerate([
            ("basic-monthly", "Basic", 900, "month", 7), ("plus-monthly", "Plus", 1900, "month", 0),
            ("pro-monthly", "Pro", 2900, "month", 0), ("plus-yearly", "Plus (yearly)", 19000, "year", 0),
        ])
    ]  # fmt: skip
    return Catalog(*plans)


@pytest.fixture
async def customer(client: httpx.AsyncClient) -> Customer:
    """Ada, logged in on ``client``, with a confirmed e-mail address."""
    return await sign_up(client)


async def subscribe_paid(client: httpx.AsyncClient, buyer_: Buyer, code: str = "plus-monthly") -> httpx.Response:
    """Choose a paid plan, approve on PayPal and come back: the portal's answer to the return URL."""
    started = await submit(client, f"/subscribe/{code}", f"/subscribe/{code}")
    assert started.status_code == 303, started.text
    await buyer_.approve(started.headers["location"])
    return await client.get(buyer_.last_redirect)


__all__ = ["Catalog", "log_in", "sign_up", "submit", "subscribe_paid"]
