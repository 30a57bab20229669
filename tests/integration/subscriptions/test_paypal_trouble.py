"""PayPal's words never reach customers (issue 10, item 3): every portal page that calls PayPal, with PayPal
declining, failing (500/503), answering garbage, not answering in time or refusing the connection, answers with a
page in the customer's words and the status of ``app.payments.customer`` (402 declined, 503 + Retry-After when
PayPal is unavailable; a money call whose outcome is unknown says it is being confirmed), never a 500. Each
changes nothing it must not, keeps PayPal's raw words on the staff record and logs them.

Calls that move no money (checkout and vault set-up starts, vault returns) run every fault in turn on one set-up;
money-moving calls (the checkout's capture, "Pay now", an upgrade's charge) get a fresh set-up per fault."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from litestar import Litestar

from app.payments import service as payments
from app.payments.customer import DECLINED, UNAVAILABLE
from app.payments.paypal import PayPalGateway
from app.settings import SANDBOX_MOUNT_PATH
from tables.accounts import Customer
from tables.billing import Invoice
from tables.payments import Payment, PaymentMethod, VaultSetup
from tables.subscriptions import Subscription
from tests.integration.subscriptions.conftest import Catalog, submit, subscribe_paid
from tests.integration.subscriptions.test_billing_pages import overdue_renewal
from tests.integration.subscriptions.test_manage import change_to, live_subscription
from tests.paypal import HELD_S, Buyer, SandboxControl, sandbox_gateway

BILLING = "/account/billing"
LIST = "/account/subscriptions"
# Each fault, and the raw words the log must hold for it (PayPal's issue name or the adapter's code).
RAW = {
    "http_500": "INTERNAL_SERVER_ERROR",
    "http_503": "SERVICE_UNAVAILABLE",
    "garbage": "UNREADABLE_ANSWER",
    "refused": "CONNECTION_ERROR",
    "timeout": "TIMEOUT",  # last: the work is done and remembered, so a later call replays it instead of failing
    "decline": "INSTRUMENT_DECLINED",
}
UNAVAILABLE_FAULTS = ["http_500", "http_503", "garbage", "refused", "timeout"]
VAULT_FAULTS = ["http_500", "garbage", "refused", "timeout"]  # Vault v3 documents no 503
MONEY_FAULTS = ["decline", "http_500", "garbage", "refused", "timeout"]
PAYPALS_WORDS = ("debug_id", "HTTPConnectionPool", "ConnectionError", "INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE",
                 "UNREADABLE_ANSWER", "instrument presented", "Read timed out")  # fmt: skip


def dead_gateway() -> PayPalGateway:
    """The adapter pointed at a port nothing listens on: every call's connection is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return sandbox_gateway(f"http://127.0.0.1:{port}{SANDBOX_MOUNT_PATH}")


@asynccontextmanager
async def trouble(app: Litestar, sandbox: SandboxControl, fault: str, operation: str) -> AsyncIterator[None]:
    """PayPal in trouble for the next ``operation`` call (for "refused": for every call)."""
    if fault == "refused":
        previous, app.state.gateway = app.state.gateway, dead_gateway()
        try:
            yield
        finally:
            app.state.gateway = previous
        return
    kind = {"garbage": "garbage_body", "timeout": "timeout_after_capture", "decline": "instrument_declined"}
    await sandbox.arm(kind.get(fault, fault), operation=operation, delay_s=HELD_S)
    try:
        yield
    finally:
        await sandbox.clear_faults()


def assert_customer_page(response: httpx.Response, status: int, sentence: str) -> None:
    assert response.status_code == status, response.text
    assert sentence in response.text
    for words in PAYPALS_WORDS:
        assert words not in response.text
    if status == 503:
        assert response.headers["retry-after"] == "60"


@pytest.fixture(autouse=True)
def _paypal_log(caplog: pytest.LogCaptureFixture) -> None:
    """The adapter logs a payer's decline at INFO (business as usual), PayPal's trouble at WARNING."""
    caplog.set_level(logging.INFO, logger="recurra.payments.paypal")


def assert_logged(caplog: pytest.LogCaptureFixture, fault: str) -> None:
    logged = [r.getMessage() for r in caplog.records if r.name == "recurra.payments.paypal"]
    assert any(RAW[fault] in line for line in logged), logged
    caplog.clear()


async def test_starting_a_checkout(
    app: Litestar,
    client: httpx.AsyncClient,
    catalog: Catalog,
    customer: Customer,
    sandbox: SandboxControl,
    caplog: pytest.LogCaptureFixture,
) -> None:
    for fault in UNAVAILABLE_FAULTS:
        async with trouble(app, sandbox, fault, "orders.create"):
            page = await submit(client, "/subscribe/pro-monthly", "/subscribe/pro-monthly")
        assert_customer_page(page, 503, UNAVAILABLE.sentence)
        assert "Pay $29.00 with PayPal" in page.text  # the subscribe page again, to try once more
        assert_logged(caplog, fault)

    [sub] = await Subscription.select(Subscription.status)
    assert sub["status"] == "incomplete"
    failed = await Payment.select(Payment.status, Payment.failure_code, Payment.failure_message)
    assert [p["status"] for p in failed] == ["failed"] * len(UNAVAILABLE_FAULTS)
    assert {p["failure_code"] for p in failed} == {RAW[f] for f in UNAVAILABLE_FAULTS}  # the staff record
    assert await sandbox.new_captures() == []
    again = await submit(client, "/subscribe/pro-monthly", "/subscribe/pro-monthly")
    assert again.status_code == 303  # PayPal is back: off to its checkout, the same subscription
    assert await Subscription.count() == 1


async def test_starting_a_trial(
    app: Litestar,
    client: httpx.AsyncClient,
    catalog: Catalog,
    customer: Customer,
    sandbox: SandboxControl,
    caplog: pytest.LogCaptureFixture,
) -> None:
    for fault in VAULT_FAULTS:
        async with trouble(app, sandbox, fault, "setup-tokens.create"):
            page = await submit(client, "/subscribe/basic-monthly", "/subscribe/basic-monthly")
        assert_customer_page(page, 503, UNAVAILABLE.sentence)
        assert_logged(caplog, fault)

    [sub] = await Subscription.select(Subscription.status)
    assert sub["status"] == "incomplete"
    assert await PaymentMethod.count() == 0
    setups = await VaultSetup.select(VaultSetup.status, VaultSetup.failure_code, VaultSetup.setup_token)
    assert [(s["status"], s["setup_token"]) for s in setups] == [("failed", None)] * len(VAULT_FAULTS)
    assert {s["failure_code"] for s in setups} == {RAW[f] for f in VAULT_FAULTS}


async def test_coming_back_from_the_trials_paypal_approval(
    app: Litestar,
    client: httpx.AsyncClient,
    catalog: Catalog,
    customer: Customer,
    buyer: Buyer,
    sandbox: SandboxControl,
    caplog: pytest.LogCaptureFixture,
) -> None:
    started = await submit(client, "/subscribe/basic-monthly", "/subscribe/basic-monthly")
    await buyer.approve(started.headers["location"])

    for fault in VAULT_FAULTS:
        async with trouble(app, sandbox, fault, "payment-tokens.create"):
            page = await client.get(buyer.last_redirect)
        assert_customer_page(page, 503, UNAVAILABLE.sentence)
        assert "Your free trial has not started" in page.text
        assert_logged(caplog, fault)
        assert (await Subscription.select(Subscription.status))[0]["status"] == "incomplete"
        assert await PaymentMethod.count() == 0

    [setup] = await VaultSetup.select(VaultSetup.status, VaultSetup.failure_code)
    assert setup == {"status": "started", "failure_code": RAW["timeout"]}  # PayPal's words, for staff
    back = await client.get(buyer.last_redirect)  # "try again in a minute": PayPal replays the saved token
    assert back.headers["location"] == LIST
    assert (await Subscription.select(Subscription.status))[0]["status"] == "trialing"
    assert await PaymentMethod.count() == 1


async def test_using_another_paypal_account_and_coming_back(
    app: Litestar,
    client: httpx.AsyncClient,
    catalog: Catalog,
    customer: Customer,
    buyer: Buyer,
    sandbox: SandboxControl,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await subscribe_paid(client, buyer)
    [before] = await PaymentMethod.select(PaymentMethod.id, PaymentMethod.is_default)
    for fault in VAULT_FAULTS:
        async with trouble(app, sandbox, fault, "setup-tokens.create"):
            page = await submit(client, BILLING, f"{BILLING}/method")
        assert_customer_page(page, 503, UNAVAILABLE.sentence)
        assert "Use another PayPal account" in page.text  # the billing page, to try once more
        assert_logged(caplog, fault)

    started = await submit(client, BILLING, f"{BILLING}/method")
    maria = Buyer("maria@example.com")
    await maria.approve(started.headers["location"])
    for fault in VAULT_FAULTS:
        async with trouble(app, sandbox, fault, "payment-tokens.create"):
            page = await client.get(maria.last_redirect)
        assert_customer_page(page, 503, UNAVAILABLE.sentence)
        assert_logged(caplog, fault)
        assert await PaymentMethod.select(PaymentMethod.id, PaymentMethod.is_default) == [before]
        assert (await Subscription.select(Subscription.payment_method))[0]["payment_method"] == before["id"]

    back = await client.get(maria.last_redirect)
    assert back.headers["location"] == BILLING
    assert await PaymentMethod.count().where(PaymentMethod.is_default.eq(True)) == 1
    assert (await Subscription.select(Subscription.payment_method))[0]["payment_method"] != before["id"]


async def test_paying_an_open_invoice_through_paypal_checkout(
    app: Litestar,
    client: httpx.AsyncClient,
    catalog: Catalog,
    customer: Customer,
    buyer: Buyer,
    sandbox: SandboxControl,
    caplog: pytest.LogCaptureFixture,
) -> None:
    renewal_id = await overdue_renewal(client, buyer)
    for fault in UNAVAILABLE_FAULTS:
        async with trouble(app, sandbox, fault, "orders.create"):
            page = await submit(client, BILLING, f"{BILLING}/invoices/{renewal_id}/checkout")
        assert_customer_page(page, 503, UNAVAILABLE.sentence)
        assert_logged(caplog, fault)
    assert (await Invoice.select(Invoice.status).where(Invoice.id == renewal_id))[0]["status"] == "open"
    assert (await Subscription.select(Subscription.status))[0]["status"] == "past_due"


async def settles_once(gateway: PayPalGateway, sandbox: SandboxControl, captures_before: int) -> None:
    """The payment PayPal did not confirm is settled by asking again with the same key: one capture in all."""
    [unknown] = await Payment.select(Payment.id).where(Payment.status == "unknown")
    assert (await payments.reconcile_unknown(gateway, unknown["id"])).status == "succeeded"
    assert len(await sandbox.new_captures()) == captures_before + 1


@pytest.mark.parametrize("fault", MONEY_FAULTS)
async def test_coming_back_from_the_paypal_checkout(
    app: Litestar,
    client: httpx.AsyncClient,
    catalog: Catalog,
    customer: Customer,
    buyer: Buyer,
    sandbox: SandboxControl,
    gateway: PayPalGateway,
    caplog: pytest.LogCaptureFixture,
    fault: str,
) -> None:
    await sandbox.hold_webhooks()  # PayPal's news of a capture arrives after the page has answered
    started = await submit(client, "/subscribe/pro-monthly", "/subscribe/pro-monthly")
    await buyer.approve(started.headers["location"])

    async with trouble(app, sandbox, fault, "orders.capture"):
        back = await client.get(buyer.last_redirect)

    assert_logged(caplog, fault)
    assert (await Subscription.select(Subscription.status))[0]["status"] == "incomplete"
    if fault == "decline":
        assert_customer_page(back, 402, DECLINED.sentence)
        assert "Your payment did not go through" in back.text
        assert await sandbox.new_captures() == []
        return
    assert back.headers["location"] == LIST  # the outcome is unknown: the money may have moved
    assert "PayPal has not confirmed your payment yet" in (await client.get(LIST)).text
    await settles_once(gateway, sandbox, 0)


@pytest.mark.parametrize("fault", MONEY_FAULTS)
async def test_pay_now_with_the_saved_paypal_account(
    app: Litestar,
    client: httpx.AsyncClient,
    catalog: Catalog,
    customer: Customer,
    buyer: Buyer,
    sandbox: SandboxControl,
    gateway: PayPalGateway,
    caplog: pytest.LogCaptureFixture,
    fault: str,
) -> None:
    renewal_id = await overdue_renewal(client, buyer)
    await sandbox.hold_webhooks()

    async with trouble(app, sandbox, fault, "orders.create"):
        page = await submit(client, BILLING, f"{BILLING}/invoices/{renewal_id}/pay")

    assert_logged(caplog, fault)
    assert (await Invoice.select(Invoice.status).where(Invoice.id == renewal_id))[0]["status"] == "open"
    assert (await Subscription.select(Subscription.status))[0]["status"] == "past_due"
    if fault == "decline":
        assert_customer_page(page, 402, DECLINED.sentence)
        assert f'action="{BILLING}/invoices/{renewal_id}/pay"' in page.text  # the billing page: try again
        assert len(await sandbox.new_captures()) == 1  # the first invoice's only
        return
    assert page.headers["location"] == BILLING
    assert "PayPal has not confirmed the payment yet" in (await client.get(BILLING)).text
    await settles_once(gateway, sandbox, 1)


@pytest.mark.parametrize("fault", MONEY_FAULTS)
async def test_an_upgrades_charge(
    app: Litestar,
    client: httpx.AsyncClient,
    catalog: Catalog,
    customer: Customer,
    buyer: Buyer,
    sandbox: SandboxControl,
    gateway: PayPalGateway,
    caplog: pytest.LogCaptureFixture,
    fault: str,
) -> None:
    sub = await live_subscription(client, buyer)
    await sandbox.hold_webhooks()

    async with trouble(app, sandbox, fault, "orders.create"):
        page = await change_to(client, sub["id"], catalog.pro)

    assert_logged(caplog, fault)
    assert (await Subscription.select(Subscription.plan))[0]["plan"] == catalog.plus.id  # not before it is paid
    if fault == "decline":
        assert_customer_page(page, 402, DECLINED.sentence)
        assert 'data-status="active"' in page.text  # the subscriptions page
        [change] = await Invoice.select(Invoice.status).where(Invoice.billing_reason == "subscription_update")
        assert change["status"] == "void"
        return
    assert page.headers["location"] == LIST
    assert "PayPal has not confirmed the payment yet" in (await client.get(LIST)).text
    await settles_once(gateway, sandbox, 1)
