"""PayPal paths end to end: the real adapter (paypal-checkout-serversdk, synchronous requests) talks HTTP to
the sandbox mounted in a live Recurra server (``paypal_server`` in ../conftest.py), which receives the
sandbox's signed webhooks on the test database. After each test every PayPal exchange and webhook body is
checked against PayPal's schemas."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tables.billing import Invoice
from tests import factories
from tests.paypal import Buyer, SandboxControl, contract_violations


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


@pytest.fixture
def buyer() -> Buyer:
    return Buyer("jane@example.com")


@pytest.fixture
async def invoice() -> Invoice:
    """An open invoice owing $12.50."""
    return await factories.invoice(status=Invoice.Status.open, total_minor=1250)
