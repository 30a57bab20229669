"""Changing plan during a free trial, as Stripe does it: nothing is charged and nothing is credited (nothing was
paid), the trial runs on, on the new plan, to the same end, and the bill at that end is the new plan's price on
the new plan's interval. Through the portal, with the trial's PayPal account vaulted in the bundled sandbox."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import httpx
import pytest

from app import clock
from app.billing.charging import charge_invoices
from app.billing.collection import lease_invoices
from app.billing.periods import Interval, first_period
from app.billing.renewals import generate_renewals
from tables.billing import Invoice
from tables.catalog import Plan
from tables.payments import Payment
from tables.subscriptions import Subscription
from tests.integration.billing.conftest import job_ctx  # noqa: F401 - fixture
from tests.integration.subscriptions.conftest import Catalog, submit
from tests.paypal import Buyer, SandboxControl
from tests.portal import csrf_token

LIST = "/account/subscriptions"
pytestmark = pytest.mark.usefixtures("customer")  # Ada, logged in on the client, her e-mail confirmed


def day(value: datetime) -> str:
    return f"{value:%b %-d, %Y}"


async def start_basic_trial(client: httpx.AsyncClient, buyer: Buyer) -> dict[str, Any]:
    page = await client.get("/subscribe/basic-monthly")
    started = await client.post("/subscribe/basic-monthly", data={"_csrf_token": csrf_token(page.text)})
    await buyer.approve(started.headers["location"])
    back = await client.get(buyer.last_redirect)
    assert back.headers["location"] == LIST
    [sub] = await Subscription.select().where(Subscription.status == Subscription.Status.trialing)
    return dict(sub)


async def switch(client: httpx.AsyncClient, sub_id: int, plan: Plan) -> httpx.Response:
    return await submit(client, f"{LIST}/{sub_id}/change?plan={plan.code}", f"{LIST}/{sub_id}/change",
                        {"plan": plan.code})  # fmt: skip


async def bill_the_trial_end(ctx: dict[str, Any], trial_end: datetime) -> dict[str, Any]:
    """The billing run at the trial's end, and its charge, as the worker's shard job does them."""
    with clock.frozen_at(trial_end):
        [invoice_id] = (await generate_renewals()).invoice_ids
        await charge_invoices(await lease_invoices(invoice_ids=[invoice_id]), ctx["charge_invoice"])
    invoice = await Invoice.select().where(Invoice.id == invoice_id).first()
    assert invoice is not None
    return dict(invoice)


async def test_upgrading_in_a_trial_charges_nothing_and_the_trial_end_bills_the_new_plan(
    client: httpx.AsyncClient,
    catalog: Catalog,
    buyer: Buyer,
    sandbox: SandboxControl,
    job_ctx: dict[str, Any],  # noqa: F811
) -> None:
    sub = await start_basic_trial(client, buyer)
    trial_end = sub["trial_end"]

    # Before the click, the preview says in plain words that nothing is charged and what comes at the end.
    preview = await client.get(f"{LIST}/{sub['id']}/change?plan=pro-monthly", headers={"HX-Request": "true"})
    assert f"No charge now. Your trial continues until {day(trial_end)}; then $29.00 a month." in preview.text
    assert "You pay" not in preview.text
    assert "Unused time" not in preview.text

    answer = await switch(client, sub["id"], catalog.pro)

    assert answer.headers["location"] == LIST
    page = await client.get(LIST)
    assert f"free until {day(trial_end)}. Nothing was charged." in page.text
    assert f"<dt>Free trial</dt><dd>until {day(trial_end)}</dd>" in page.text
    assert f"$29.00 on {day(trial_end)}" in page.text  # the next bill: Pro's price, at the trial's end
    # The ledger: no invoice, no payment, nothing captured; the trial goes on, on Pro, to the same end.
    assert await Invoice.count() == 0
    assert await Payment.count() == 0
    assert await sandbox.new_captures() == []
    row = await Subscription.select().where(Subscription.id == sub["id"]).first()
    assert row is not None
    assert (row["status"], row["plan"], row["trial_end"], row["current_period_end"]) == (
        "trialing", catalog.pro.id, trial_end, trial_end
    )  # fmt: skip

    # At the trial's end the first bill is Pro's, for a month from that instant, charged to the saved account.
    first = await bill_the_trial_end(job_ctx, trial_end)

    month = first_period(trial_end, Interval.of("month"))
    assert (first["total_minor"], first["status"], first["period_start"], first["period_end"]) == (
        2900, "paid", month.start, month.end
    )  # fmt: skip
    [capture] = await sandbox.new_captures()
    assert capture["amount"] == "29.00"
    after = await Subscription.select(Subscription.status, Subscription.plan).where(Subscription.id == sub["id"])
    assert after == [{"status": "active", "plan": catalog.pro.id}]


async def test_moving_to_yearly_in_a_trial_keeps_the_trial_and_then_bills_a_year(
    client: httpx.AsyncClient,
    catalog: Catalog,
    buyer: Buyer,
    sandbox: SandboxControl,
    job_ctx: dict[str, Any],  # noqa: F811
) -> None:
    sub = await start_basic_trial(client, buyer)
    trial_end = sub["trial_end"]
    preview = await client.get(f"{LIST}/{sub['id']}/change?plan=plus-yearly")
    assert f"No charge now. Your trial continues until {day(trial_end)}; then $190.00 a year." in preview.text
    assert re.search(r"Switch to Plus \(yearly\) now", preview.text)

    await switch(client, sub["id"], catalog.plus_yearly)

    assert await Invoice.count() == 0
    assert await sandbox.new_captures() == []
    first = await bill_the_trial_end(job_ctx, trial_end)
    year = first_period(trial_end, Interval.of("year"))
    assert (first["total_minor"], first["period_start"], first["period_end"]) == (19000, year.start, year.end)
    [capture] = await sandbox.new_captures()
    assert capture["amount"] == "190.00"
