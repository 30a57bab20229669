"""PayPal paths end to end: the real adapter (paypal-checkout-serversdk, synchronous requests) talks HTTP to
the sandbox mounted in a live Recurra server, which receives the sandbox's signed webhooks on the test
database. After each test every PayPal exchange and webhook body is checked against PayPal's schemas. The
server and sandbox fixtures live in tests/sandbox_fixtures.py (shared with billing and the scenarios)."""

from __future__ import annotations

import pytest

from tables.billing import Invoice
from tests import factories
from tests.paypal import Buyer


@pytest.fixture
def buyer() -> Buyer:
    return Buyer("jane@example.com")


@pytest.fixture
async def invoice() -> Invoice:
    """An open invoice owing $12.50."""
    return await factories.invoice(status=Invoice.Status.open, total_minor=1250)
