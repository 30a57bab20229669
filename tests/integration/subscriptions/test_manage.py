"""Managing a subscription from /account/subscriptions: previews computed by the billing code, an upgrade
charged at once (a decline keeps the plan), a scheduled downgrade, monthly -> yearly, cancel and pause."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx

from app import clock
from app.billing.renewals import generate_renewals
from app.money import format_money
from app.subscriptions import changes
from tables.accounts import Customer
from tables.billing import Invoice
from tables.catalog import Plan
from tables.subscriptions import Subscription
from tests import factories
from tests.integration.subscriptions.conftest import Catalog, sign_up, submit, subscribe_paid
from tests.paypal import Buyer, SandboxControl
from tests.portal import csrf_token, log_in

LIST = "/account/subscriptions"


async def live_subscription(client: httpx.AsyncClient, buyer: Buyer, code: str = "plus-monthly") -> dict[str, Any]:
    back = await subscribe_paid(client, buyer, code)
    assert back.status_code == 303, back.text
    [sub] = await Subscription.select().where(Subscription.status == Subscription.Status.active)
    return dict(sub)


async def change_to(client: httpx.AsyncClient, sub_id: int, plan: Plan) -> httpx.Response:
    return await submit(client, f"{LIST}/{sub_id}/change?plan={plan.code}", f"{LIST}/{sub_id}/change",
                       {"plan": plan.code})  # fmt: skip


async def test_an_upgrade_previews_the_prorated_price_then_charges_it_and_switches_at_once(
    client: httpx.AsyncClient, catalog: Catalog, customer: Customer, buyer: Buyer, sandbox: SandboxControl
) -> None:
    sub = await live_subscription(client, buyer)
    page = await client.get(LIST)
    assert f'hx-get="{LIST}/{sub["id"]}/change"' in page.text

    partial = await client.get(f"{LIST}/{sub['id']}/change?plan=pro-monthly", headers={"HX-Request": "true"})
    full = await client.get(f"{LIST}/{sub['id']}/change?plan=pro-monthly")

    assert "<html" not in partial.text
    assert "<html" in full.text
    quoted = re.search(r"You pay <strong>([^<]+)</strong> now", partial.text)
    assert quoted
    expected = await changes.preview_plan_change(sub["id"], catalog.pro.id)
    assert quoted.group(1) == format_money(expected.due_now_minor, "USD")
    assert "Your next bill: <strong>$29.00</strong>" in partial.text

    response = await change_to(client, sub["id"], catalog.pro)

    assert response.headers["location"] == LIST
    row = await Subscription.select(Subscription.plan).where(Subscription.id == sub["id"]).first()
    assert row == {"plan": catalog.pro.id}
    [change_invoice] = await Invoice.select().where(Invoice.billing_reason == "subscription_update")
    assert change_invoice["status"] == "paid"
    assert format_money(change_invoice["total_minor"], "USD") == quoted.group(1)  # the preview is what was billed
    assert len(await sandbox.new_captures()) == 2
    assert "your new plan is active now" in (await client.get(LIST)).text


async def test_a_declined_upgrade_keeps_the_plan_and_says_why(
    client: httpx.AsyncClient, catalog: Catalog, customer: Customer, buyer: Buyer, sandbox: SandboxControl
) -> None:
    sub = await live_subscription(client, buyer)
    await sandbox.arm("instrument_declined", operation="orders.create")

    page = await change_to(client, sub["id"], catalog.pro)

    row = await Subscription.select(Subscription.plan).where(Subscription.id == sub["id"]).first()
    assert row == {"plan": catalog.plus.id}
    [change_invoice] = await Invoice.select(Invoice.status).where(Invoice.billing_reason == "subscription_update")
    assert change_invoice["status"] == "void"  # so the customer can try again after fixing their method
    assert len(await sandbox.new_captures()) == 1
    assert page.status_code == 402  # the subscriptions page, with PayPal's answer in the customer's words
    assert "PayPal declined the payment; try another PayPal account or payment source." in page.text
    assert "instrument" not in page.text.lower()


async def test_a_double_submitted_upgrade_charges_once(
    client: httpx.AsyncClient, catalog: Catalog, customer: Customer, buyer: Buyer, sandbox: SandboxControl
) -> None:
    sub = await live_subscription(client, buyer)
    page = await client.get(f"{LIST}/{sub['id']}/change?plan=pro-monthly")
    form = {"_csrf_token": csrf_token(page.text), "plan": "pro-monthly"}

    await asyncio.gather(*(client.post(f"{LIST}/{sub['id']}/change", data=form) for _ in range(2)))

    assert await Invoice.count().where(Invoice.billing_reason == "subscription_update") == 1
    assert len(await sandbox.new_captures()) == 2  # the first invoice and one upgrade
    row = await Subscription.select(Subscription.plan).where(Subscription.id == sub["id"]).first()
    assert row == {"plan": catalog.pro.id}


async def test_a_downgrade_is_scheduled_for_the_period_end_and_can_be_undone(
    client: httpx.AsyncClient, catalog: Catalog, customer: Customer, buyer: Buyer, sandbox: SandboxControl
) -> None:
    sub = await live_subscription(client, buyer, "pro-monthly")
    preview = await client.get(f"{LIST}/{sub['id']}/change?plan=plus-monthly")
    assert "Nothing to pay now" in preview.text

    await change_to(client, sub["id"], catalog.plus)

    row = await Subscription.select(Subscription.plan, Subscription.pending_plan).where(Subscription.id == sub["id"])
    assert row == [{"plan": catalog.pro.id, "pending_plan": catalog.plus.id}]
    page = await client.get(LIST)
    assert "Moves to Plus" in page.text
    assert "$19.00 on" in page.text  # the next bill is the new plan's price
    assert len(await sandbox.new_captures()) == 1  # no money moved

    await submit(client, LIST, f"{LIST}/{sub['id']}/cancel-change")

    row = await Subscription.select(Subscription.pending_plan).where(Subscription.id == sub["id"])
    assert row == [{"pending_plan": None}]


async def test_monthly_to_yearly_bills_a_new_year_from_today(
    client: httpx.AsyncClient, catalog: Catalog, customer: Customer, buyer: Buyer, sandbox: SandboxControl
) -> None:
    sub = await live_subscription(client, buyer)
    preview = await client.get(f"{LIST}/{sub['id']}/change?plan=plus-yearly")
    assert "your billing date moves to" in preview.text

    await change_to(client, sub["id"], catalog.plus_yearly)

    row = await Subscription.select().where(Subscription.id == sub["id"]).first()
    assert row is not None
    assert row["plan"] == catalog.plus_yearly.id
    assert row["billing_anchor"] > sub["billing_anchor"]
    assert (row["current_period_end"] - row["current_period_start"]).days in (365, 366)


async def test_cancel_at_period_end_asks_a_reason_and_can_be_kept(
    client: httpx.AsyncClient, catalog: Catalog, customer: Customer, buyer: Buyer, sandbox: SandboxControl
) -> None:
    sub = await live_subscription(client, buyer)
    page = f"{LIST}/{sub['id']}/cancel"
    assert "you keep access until" in (await client.get(page)).text

    refused = await submit(client, page, page, {"when": "period_end", "reason": " "})
    assert refused.status_code == 422
    assert "Tell us why" in refused.text

    await submit(client, page, page, {"when": "period_end", "reason": "Too expensive"})

    row = await Subscription.select(Subscription.status, Subscription.cancel_at_period_end, Subscription.cancel_reason)
    assert row == [{"status": "active", "cancel_at_period_end": True, "cancel_reason": "Too expensive"}]
    listing = await client.get(LIST)
    assert "Keep my subscription" in listing.text
    assert 'Next bill</dt>\n    <dd class="next-bill">none' in listing.text

    await submit(client, LIST, f"{LIST}/{sub['id']}/keep")

    row = await Subscription.select(Subscription.cancel_at_period_end)
    assert row == [{"cancel_at_period_end": False}]


async def test_cancel_now_ends_the_subscription(
    client: httpx.AsyncClient, catalog: Catalog, customer: Customer, buyer: Buyer, sandbox: SandboxControl
) -> None:
    sub = await live_subscription(client, buyer)
    page = f"{LIST}/{sub['id']}/cancel"

    await submit(client, page, page, {"when": "now", "reason": "Moving abroad"})

    row = await Subscription.select(Subscription.status, Subscription.cancel_reason, Subscription.ended_at)
    assert row[0]["status"] == "canceled"
    assert row[0]["cancel_reason"] == "Moving abroad"
    assert row[0]["ended_at"] is not None


async def test_pause_and_resume(
    client: httpx.AsyncClient, catalog: Catalog, customer: Customer, buyer: Buyer, sandbox: SandboxControl
) -> None:
    sub = await live_subscription(client, buyer)
    page = f"{LIST}/{sub['id']}/pause"
    assert "not billed while paused" in (await client.get(page)).text

    await submit(client, page, page)
    assert (await Subscription.select(Subscription.status))[0]["status"] == "paused"
    assert "Resume" in (await client.get(LIST)).text

    await submit(client, LIST, f"{LIST}/{sub['id']}/resume")

    assert (await Subscription.select(Subscription.status))[0]["status"] == "active"


async def test_another_customers_subscription_is_not_found(
    client: httpx.AsyncClient,
    new_client: httpx.AsyncClient,
    catalog: Catalog,
    customer: Customer,
    buyer: Buyer,
    sandbox: SandboxControl,
) -> None:
    sub = await live_subscription(client, buyer)
    await sign_up(new_client, "eve@example.com")

    assert (await new_client.get(f"{LIST}/{sub['id']}/change?plan=pro-monthly")).status_code == 404
    assert (await new_client.get(f"{LIST}/{sub['id']}/cancel")).status_code == 404
    refused = await submit(new_client, LIST, f"{LIST}/{sub['id']}/pause")
    assert refused.status_code == 303
    assert (await Subscription.select(Subscription.status))[0]["status"] == "active"
    assert "There is no such subscription" in (await new_client.get(LIST)).text


async def test_a_plan_of_another_product_or_off_sale_is_not_offered(
    client: httpx.AsyncClient, catalog: Catalog, customer: Customer, buyer: Buyer, sandbox: SandboxControl
) -> None:
    sub = await live_subscription(client, buyer)
    elsewhere = await factories.plan(code="video-pro", amount_minor=9900)  # another product
    hidden = await factories.plan(product=catalog.plus.product, code="staff-only", amount_minor=100, public=False)

    for plan in (elsewhere, hidden):
        assert (await client.get(f"{LIST}/{sub['id']}/change?plan={plan.code}")).status_code == 404
        await change_to(client, sub["id"], plan)

    row = await Subscription.select(Subscription.plan, Subscription.pending_plan).where(Subscription.id == sub["id"])
    assert row == [{"plan": catalog.plus.id, "pending_plan": None}]
    assert await Invoice.count() == 1  # the first invoice only: nothing was billed for either


async def test_a_refused_preview_is_shown_in_place(
    client: httpx.AsyncClient, catalog: Catalog, customer: Customer, buyer: Buyer, sandbox: SandboxControl
) -> None:
    sub = await live_subscription(client, buyer)
    with clock.frozen_at(clock.as_utc(sub["current_period_end"])):
        await generate_renewals()  # the new period's bill is open until it is charged
        assert (await log_in(client, email=customer.email)).status_code == 303  # a month on: a new session
        partial = await client.get(f"{LIST}/{sub['id']}/change?plan=pro-monthly", headers={"HX-Request": "true"})
        page = await client.get(f"{LIST}/{sub['id']}/change?plan=pro-monthly")

    assert partial.status_code == 200  # htmx swaps only 2xx: the refusal is what appears in place
    assert "This plan change is not possible now: This period&#39;s bill is not paid yet" in partial.text
    assert "<html" not in partial.text
    assert page.status_code == 409
