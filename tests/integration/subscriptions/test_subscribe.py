"""Subscribing from the pricing page: log-in and a confirmed e-mail first; a paid plan through PayPal checkout,
a trial by saving PayPal; cancel, decline, replays and double submits."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest
from litestar import Litestar

from app.payments.paypal import PayPalGateway
from app.subscriptions.settlement import settle_paid_invoice
from tables.accounts import Customer
from tables.billing import Invoice, InvoiceEvent
from tables.payments import Payment, PaymentMethod
from tables.subscriptions import Subscription, SubscriptionEvent
from tests import factories
from tests.integration.subscriptions.conftest import Catalog, sign_up, submit, subscribe_paid
from tests.paypal import Buyer, RaceGate, SandboxControl
from tests.portal import csrf_token


async def test_the_pricing_page_offers_each_plan_and_choosing_needs_a_log_in(
    client: httpx.AsyncClient, catalog: Catalog
) -> None:
    home = await client.get("/")
    assert 'href="/subscribe/plus-monthly"' in home.text
    assert 'href="/subscribe/basic-monthly"' in home.text

    response = await client.get("/subscribe/plus-monthly")

    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fsubscribe%2Fplus-monthly"


async def test_an_unconfirmed_email_is_refused_with_a_resend_link(client: httpx.AsyncClient, catalog: Catalog) -> None:
    await sign_up(client, verified=False)
    page = await client.get("/subscribe/plus-monthly")
    assert "Confirm your e-mail address" in page.text
    assert 'action="/account/verify-email/resend"' in page.text

    response = await client.post("/subscribe/plus-monthly", data={"_csrf_token": csrf_token(page.text)})

    assert response.status_code == 403
    assert "Confirm your e-mail address before you pay" in response.text
    assert await Subscription.count() == 0
    assert await Payment.count() == 0


async def test_a_paid_plan_goes_live_after_the_paypal_checkout(
    client: httpx.AsyncClient, catalog: Catalog, customer: Customer, buyer: Buyer, sandbox: SandboxControl
) -> None:
    back = await subscribe_paid(client, buyer)

    assert back.status_code == 303
    assert back.headers["location"] == "/account/subscriptions"
    [sub] = await Subscription.select().where(Subscription.customer == customer.id)
    assert (sub["status"], sub["plan"]) == ("active", catalog.plus.id)
    [invoice] = await Invoice.select().where(Invoice.subscription == sub["id"])
    assert (invoice["status"], invoice["total_minor"], invoice["amount_paid_minor"]) == ("paid", 1900, 1900)
    [method] = await PaymentMethod.select().where(PaymentMethod.customer == customer.id)
    assert sub["payment_method"] == method["id"]
    assert method["label"] == "PayPal j***@example.com"
    [capture] = await sandbox.new_captures()
    assert capture["amount"] == "19.00"

    page = await client.get("/account/subscriptions")
    assert "your subscription is live" in page.text
    assert 'data-status="active"' in page.text
    assert "$19.00 on" in page.text  # the next bill

    # The back button / a reload replays the return URL: nothing is captured or settled twice.
    again = await client.get(buyer.last_redirect)
    assert again.status_code == 303
    assert len(await sandbox.new_captures()) == 1
    assert await Payment.count().where(Payment.status == Payment.Status.succeeded) == 1
    paid_events = await InvoiceEvent.count().where(InvoiceEvent.invoice == invoice["id"], InvoiceEvent.event == "pay")
    assert paid_events == 1


async def test_cancelling_on_paypal_leaves_the_subscription_waiting_and_charges_nothing(
    client: httpx.AsyncClient, catalog: Catalog, customer: Customer, buyer: Buyer, sandbox: SandboxControl
) -> None:
    started = await submit(client, "/subscribe/plus-monthly", "/subscribe/plus-monthly")
    await buyer.cancel(started.headers["location"])

    back = await client.get(buyer.last_redirect)

    assert back.headers["location"] == "/account/subscriptions"
    [sub] = await Subscription.select(Subscription.status, Subscription.expires_at)
    assert sub["status"] == "incomplete"
    assert sub["expires_at"] is not None  # the expire_checkouts job lapses it after 23 hours
    [payment] = await Payment.select(Payment.status, Payment.failure_code)
    assert payment == {"status": "failed", "failure_code": "PAYER_CANCELLED"}
    assert await sandbox.new_captures() == []
    page = await client.get("/account/subscriptions")
    assert "nothing was charged" in page.text
    assert "Pay now with PayPal" in page.text


async def test_a_declined_checkout_says_why_and_a_retry_reuses_the_same_subscription(
    client: httpx.AsyncClient, catalog: Catalog, customer: Customer, sandbox: SandboxControl
) -> None:
    declined = Buyer("buyer+instrument_declined@example.com")
    back = await subscribe_paid(client, declined)

    assert back.status_code == 402
    assert "did not go through" in back.text
    [sub] = await Subscription.select(Subscription.id, Subscription.status)
    assert sub["status"] == "incomplete"

    retry = await subscribe_paid(client, Buyer("jane@example.com"))

    assert retry.headers["location"] == "/account/subscriptions"
    assert await Subscription.count() == 1
    assert await Invoice.count() == 1
    rows = await Subscription.select(Subscription.id, Subscription.status)
    assert rows == [{"id": sub["id"], "status": "active"}]
    assert len(await sandbox.new_captures()) == 1


async def test_a_double_submit_makes_one_subscription_and_one_charge(
    client: httpx.AsyncClient, catalog: Catalog, customer: Customer, buyer: Buyer, sandbox: SandboxControl
) -> None:
    page = await client.get("/subscribe/plus-monthly")
    form = {"_csrf_token": csrf_token(page.text)}

    first, second = await asyncio.gather(
        client.post("/subscribe/plus-monthly", data=form), client.post("/subscribe/plus-monthly", data=form)
    )

    assert (first.status_code, second.status_code) == (303, 303)
    assert await Subscription.count() == 1
    assert await Invoice.count() == 1
    # The buyer approves both PayPal pages (two tabs) and comes back from both: one capture only.
    await buyer.approve(first.headers["location"])
    one = await client.get(buyer.last_redirect)
    await buyer.approve(second.headers["location"])
    two = await client.get(buyer.last_redirect)
    assert (one.status_code, two.status_code) == (303, 303)
    assert len(await sandbox.new_captures()) == 1
    assert await Payment.count().where(Payment.status == Payment.Status.succeeded) == 1
    assert (await Subscription.select(Subscription.status))[0]["status"] == "active"


async def test_two_tabs_coming_back_from_paypal_at_once_pay_once_and_both_show_the_subscription_live(
    app: Litestar,
    client: httpx.AsyncClient,
    catalog: Catalog,
    customer: Customer,
    buyer: Buyer,
    sandbox: SandboxControl,
    portal_gateway: PayPalGateway,
) -> None:
    tabs = [await submit(client, "/subscribe/plus-monthly", "/subscribe/plus-monthly") for _ in range(2)]
    returns = []
    for tab in tabs:  # each tab made its own PayPal order for the same first invoice; the buyer approves both
        await buyer.approve(tab.headers["location"])
        returns.append(buyer.last_redirect)
    assert await Invoice.count() == 1
    app.state.gateway = RaceGate(portal_gateway)  # both returns pass their checks before either captures

    backs = await asyncio.gather(*(client.get(url) for url in returns))

    assert [(b.status_code, b.headers["location"]) for b in backs] == [(303, "/account/subscriptions")] * 2
    assert len(await sandbox.new_captures()) == 1
    statuses = await Payment.select(Payment.status, Payment.failure_code).order_by(Payment.status, ascending=False)
    assert statuses == [{"status": "succeeded", "failure_code": ""}, {"status": "failed", "failure_code": "SUPERSEDED"}]
    [invoice] = await Invoice.select(Invoice.id, Invoice.status, Invoice.amount_paid_minor)
    assert (invoice["status"], invoice["amount_paid_minor"]) == ("paid", 1900)
    assert await InvoiceEvent.count().where(InvoiceEvent.invoice == invoice["id"], InvoiceEvent.event == "pay") == 1
    assert (await Subscription.select(Subscription.status))[0]["status"] == "active"
    page = await client.get("/account/subscriptions")
    assert 'data-status="active"' in page.text


async def test_an_active_subscriber_cannot_subscribe_to_the_same_product_again(
    client: httpx.AsyncClient, catalog: Catalog, customer: Customer, buyer: Buyer, sandbox: SandboxControl
) -> None:
    await subscribe_paid(client, buyer)

    response = await submit(client, "/subscribe/pro-monthly", "/subscribe/pro-monthly")

    assert response.status_code == 409
    assert "You already subscribe to Library" in response.text
    assert await Subscription.count() == 1


async def test_a_trial_saves_paypal_and_starts_without_a_charge(
    client: httpx.AsyncClient, catalog: Catalog, customer: Customer, buyer: Buyer, sandbox: SandboxControl
) -> None:
    page = await client.get("/subscribe/basic-monthly")
    assert "7-day free trial" in page.text
    started = await client.post("/subscribe/basic-monthly", data={"_csrf_token": csrf_token(page.text)})
    assert "/agreements/approve" in started.headers["location"]
    await buyer.approve(started.headers["location"])

    back = await client.get(buyer.last_redirect)

    assert back.headers["location"] == "/account/subscriptions"
    [sub] = await Subscription.select()
    assert sub["status"] == "trialing"
    [method] = await PaymentMethod.select(PaymentMethod.id, PaymentMethod.label)
    assert sub["payment_method"] == method["id"]
    assert await Invoice.count() == 0
    assert await sandbox.new_captures() == []
    again = await client.get(buyer.last_redirect)  # a replayed return changes nothing
    assert again.status_code == 303
    assert await SubscriptionEvent.count().where(SubscriptionEvent.event == "start_trial") == 1
    assert "free trial" in (await client.get("/account/subscriptions")).text


async def test_settling_the_same_invoice_twice_at_once_pays_it_once(
    client: httpx.AsyncClient, catalog: Catalog, customer: Customer
) -> None:
    page = await client.get("/subscribe/plus-monthly")
    started = await submit(client, "/subscribe/plus-monthly", "/subscribe/plus-monthly")
    assert started.status_code == 303, page.text
    [invoice] = await Invoice.select(Invoice.id)

    await asyncio.gather(*(settle_paid_invoice(invoice["id"], actor="test") for _ in range(3)))

    assert await InvoiceEvent.count().where(InvoiceEvent.invoice == invoice["id"], InvoiceEvent.event == "pay") == 1
    assert await SubscriptionEvent.count().where(SubscriptionEvent.event == "activate") == 1
    assert (await Subscription.select(Subscription.status))[0]["status"] == "active"


async def test_the_database_refuses_a_second_incomplete_subscription_to_the_same_plan(
    catalog: Catalog, customer: Customer
) -> None:
    await factories.subscription(customer=customer.id, plan=catalog.plus.id, status="incomplete")
    await factories.subscription(customer=customer.id, plan=catalog.plus.id, status="active")  # allowed

    with pytest.raises(asyncpg.exceptions.UniqueViolationError):
        await factories.subscription(customer=customer.id, plan=catalog.plus.id, status="incomplete")


async def test_choosing_another_plan_mid_checkout_replaces_the_unpaid_one(
    client: httpx.AsyncClient, catalog: Catalog, customer: Customer, buyer: Buyer, sandbox: SandboxControl
) -> None:
    await submit(client, "/subscribe/plus-monthly", "/subscribe/plus-monthly")  # left on PayPal's page

    back = await subscribe_paid(client, buyer, "pro-monthly")

    assert back.headers["location"] == "/account/subscriptions"
    rows = await Subscription.select(Subscription.plan, Subscription.status).order_by(Subscription.id)
    assert rows == [{"plan": catalog.plus.id, "status": "canceled"}, {"plan": catalog.pro.id, "status": "active"}]
    statuses = await Invoice.select(Invoice.status).order_by(Invoice.id)
    assert statuses == [{"status": "void"}, {"status": "paid"}]
    [capture] = await sandbox.new_captures()
    assert capture["amount"] == "29.00"
