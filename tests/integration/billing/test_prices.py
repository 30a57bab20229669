"""Grandfathering: a subscribed plan's price never changes (the database refuses it); "New price" makes a new
version for new sign-ups while subscribers keep theirs; "Move subscribers to a new price" moves chosen ones from
their first renewal at least the notice period away, told by e-mail that long before, shown on their
subscriptions page. Driven on a test clock, against the bundled sandbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from litestar import Litestar

from app.billing.periods import Interval, boundary
from app.billing.price_moves import move_subscribers, send_price_notices
from app.billing.testclocks import create_test_clock, create_test_customer, move_test_clock
from app.billing.timetravel import advance_and_run
from app.catalog.prices import new_price
from app.errors import Conflict, InvalidInput
from app.subscriptions.checkout import plan_for_sale
from tables.audit import AuditLog
from tables.billing import Invoice, PriceMove
from tables.catalog import Plan, PlanFeature
from tables.subscriptions import Subscription, SubscriptionEvent
from tasks.outbox import dispatch_outbox
from tests import factories
from tests.integration.billing.conftest import Vaulted
from tests.integration.staff import staff_session, table
from tests.paypal import SandboxControl
from tests.portal import PASSWORD, log_in
from tests.smtp import Mailbox

FORMS = "/admin/api/forms/"
MONTH = Interval.of("month")
ANCHOR = datetime(2027, 1, 15, 9, tzinfo=UTC)  # every subscription here renews on the 15th
T0 = datetime(2027, 2, 1, 9, tzinfo=UTC)  # the clock starts 14 days before the Feb 15 renewal
NOTICE = timedelta(days=30)  # PRICE_CHANGE_NOTICE_DAYS's default


def renewal(n: int) -> datetime:
    return boundary(ANCHOR, MONTH, n)


async def on_basic(plan_id: int, **values: Any) -> Subscription:
    return await factories.subscription(plan=plan_id, current_period_start=renewal(0), current_period_end=renewal(1),
                                        billing_anchor=ANCHOR, **values)  # fmt: skip


async def test_the_database_refuses_a_new_price_for_a_plan_anybody_subscribed_to() -> None:
    subscribed, scheduled, untouched = [await factories.plan(amount_minor=1900) for _ in range(3)]
    sub = await on_basic(subscribed.id)
    await Subscription.update({Subscription.pending_plan: scheduled.id}).where(Subscription.id == sub.id)
    for plan in (subscribed, scheduled):
        for change in ({Plan.amount_minor: 2500}, {Plan.currency: "EUR"}, {Plan.interval: "year"},
                       {Plan.interval_count: 2}):  # fmt: skip
            with pytest.raises(asyncpg.exceptions.CheckViolationError, match="plan_price_immutable"):
                await Plan.update(change).where(Plan.id == plan.id)
        await Plan.update({Plan.name: "Renamed", Plan.amount_minor: 1900}).where(Plan.id == plan.id)  # same price
    await Plan.update({Plan.amount_minor: 2500}).where(Plan.id == untouched.id)  # nobody has it: still a draft
    prices = await Plan.select(Plan.amount_minor).where(Plan.id.is_in([subscribed.id, scheduled.id, untouched.id]))
    assert sorted(p["amount_minor"] for p in prices) == [1900, 1900, 2500]


async def test_staff_make_a_new_price_for_sign_ups_and_subscribers_keep_theirs(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    library = await factories.feature(key="library")
    basic = await factories.plan(code="basic", name="Basic", amount_minor=1900, interval="month")
    await PlanFeature.insert(PlanFeature(plan=basic.id, feature=library.id, limit_value=3))
    sub = await on_basic(basic.id)
    async with staff_session(app, "content") as content:  # content staff read plans, no more
        assert (
            await content.post(FORMS + "new-price/", json={"plan_id": basic.id, "amount": "25.00"})
        ).status_code == 403
    async with staff_session(app, "billing") as staff:
        patched = await staff.patch(table("plan", basic.id), json={"amount_minor": 2500})
        assert patched.status_code == 409, patched.text
        assert "has subscribers" in patched.text and "New price" in patched.text
        made = await staff.post(FORMS + "new-price/", json={"plan_id": basic.id, "amount": "25.00"})
        assert made.status_code == 200, made.text
        again = await staff.post(FORMS + "new-price/", json={"plan_id": basic.id, "amount": "29.00"})
        assert again.status_code != 200
        assert "re-priced already as 'basic-v2'" in again.text
    plans = await Plan.select(Plan.id, Plan.code, Plan.amount_minor, Plan.status, Plan.family, Plan.version).order_by(
        Plan.id
    )  # fmt: skip
    assert [(p["code"], p["amount_minor"], p["status"], p["family"], p["version"]) for p in plans] == [
        ("basic", 1900, "archived", "basic", 1), ("basic-v2", 2500, "active", "basic", 2),
    ]  # fmt: skip
    v2 = plans[1]["id"]
    features = await PlanFeature.select(PlanFeature.feature, PlanFeature.limit_value).where(PlanFeature.plan == v2)
    assert features == [{"feature": library.id, "limit_value": 3}]
    assert (await Subscription.select(Subscription.plan).where(Subscription.id == sub.id).first()) == {"plan": basic.id}
    assert await AuditLog.count().where(AuditLog.action == "billing.plan_new_price") == 1
    # The old sign-up URL sells the new version; the pricing page lists it alone.
    home = await client.get("/")
    assert "$25.00" in home.text and "$19.00" not in home.text
    assert "/subscribe/basic-v2" in home.text


async def test_the_subscribe_url_of_an_old_price_sells_the_current_one() -> None:
    basic = await factories.plan(code="basic", amount_minor=1900)
    await on_basic(basic.id)
    v2 = await new_price(basic.id, 2500, actor="staff:1")
    v3 = await new_price(v2.plan_id, 2700, actor="staff:1")
    for code in ("basic", "basic-v2", "basic-v3"):
        sold = await plan_for_sale(code)
        assert (sold.id, sold.code, sold.amount_minor) == (v3.plan_id, "basic-v3", 2700)


async def test_moved_subscribers_are_told_then_billed_the_new_price_from_their_renewal(
    app: Litestar, client: httpx.AsyncClient, job_ctx: dict[str, Any], sandbox: SandboxControl, vaulted: Vaulted,
    mailbox: Mailbox,
) -> None:  # fmt: skip
    """Ann and Bob are moved, Cyd is not. Their Feb 15 renewal is 14 days away, under the 30 days' notice: the
    move applies from Mar 15, the notice goes out on Feb 13, Feb 15 still bills $19, Mar 15 bills $25."""
    policy = job_ctx["settings"].billing
    test_clock = await create_test_clock("new prices", T0)
    basic = await factories.plan(code="basic", name="Basic", amount_minor=1900, interval="month")
    subs = {}
    for name in ("ann", "bob", "cyd"):
        customer_id = await create_test_customer(test_clock.id, email=f"{name}@example.com", name=name.title(),
                                                 password=PASSWORD)  # fmt: skip
        method = await vaulted(customer_id, f"{name}@example.com")
        subs[name] = (await on_basic(basic.id, customer=customer_id, payment_method=method.id)).id
    gone = await on_basic(basic.id, status="canceled")
    v2 = (await new_price(basic.id, 2500, actor="staff:1")).plan_id

    async with staff_session(app, "billing") as staff:
        moved = await staff.post(FORMS + "move-subscribers-to-a-new-price/", json={
            "to_plan_id": v2, "subscription_ids": f"{subs['ann']}, {subs['bob']}, {gone.id}"})  # fmt: skip
    assert moved.status_code == 200, moved.text
    assert "2 subscriptions move" in moved.text and f"#{gone.id}" in moved.text  # the canceled one is left
    moves = await PriceMove.select(PriceMove.subscription, PriceMove.effective_at, PriceMove.notice_at)
    assert sorted((m["subscription"], m["effective_at"], m["notice_at"]) for m in moves) == [
        (subs["ann"], renewal(2), renewal(2) - NOTICE), (subs["bob"], renewal(2), renewal(2) - NOTICE),
    ]  # fmt: skip

    assert (await log_in(client, "ann@example.com")).status_code == 303
    page = (await client.get("/account/subscriptions")).text
    assert "$19.00 on Feb 15, 2027" in page
    assert "From Mar 15, 2027: $25.00 / month (new price)" in page

    async def advance(to: datetime) -> None:
        await advance_and_run(test_clock.id, to, actor="staff:1", charge=job_ctx["charge_invoice"], policy=policy)
        await dispatch_outbox(job_ctx)

    await advance(renewal(2) - NOTICE - timedelta(seconds=1))
    assert await PriceMove.count().where(PriceMove.noticed_at.is_not_null()) == 0
    await advance(renewal(1))  # the notice on Feb 13, then the Feb 15 renewal at the old price
    notices = await mailbox.wait_for("billing_price_change", count=2)
    assert sorted(m["To"] for m in notices) == ["ann@example.com", "bob@example.com"]
    text = Mailbox.text(notices[0])
    assert "from March 15, 2027, it renews at $25.00 every month (it is $19.00 every month until then)" in text
    noticed = await PriceMove.select(PriceMove.noticed_at).output(as_list=True)
    assert noticed == [renewal(2) - NOTICE] * 2  # exactly the notice period before the renewal it announces
    assert await billed(renewal(1)) == {"ann": 1900, "bob": 1900, "cyd": 1900}

    await advance(renewal(2))
    assert await billed(renewal(2)) == {"ann": 2500, "bob": 2500, "cyd": 1900}  # Cyd keeps the price she has
    plans = await Subscription.select(Subscription.id, Subscription.plan).where(
        Subscription.id.is_in(list(subs.values()))
    )
    assert {p["id"]: p["plan"] for p in plans} == {subs["ann"]: v2, subs["bob"]: v2, subs["cyd"]: basic.id}
    events = await SubscriptionEvent.select(SubscriptionEvent.subscription, SubscriptionEvent.occurred_at).where(
        SubscriptionEvent.event == "price_change"
    )  # fmt: skip
    assert sorted((e["subscription"], e["occurred_at"]) for e in events) == [
        (subs["ann"], renewal(2)), (subs["bob"], renewal(2))
    ]  # fmt: skip
    assert await PriceMove.count().where(PriceMove.applied_at == renewal(2)) == 2
    # The renewal reminders before Mar 15 announced what it billed.
    sent = await mailbox.wait_for("billing_upcoming_renewal", count=6)  # for Feb 15 and for Mar 15
    reminders = {m["To"]: Mailbox.text(m) for m in sent if "March 15" in Mailbox.text(m)}
    assert "renews on March 15, 2027 for $25.00" in reminders["ann@example.com"]
    assert "renews on March 15, 2027 for $19.00" in reminders["cyd@example.com"]


async def billed(period_start: datetime) -> dict[str, int]:
    rows = await Invoice.select(Invoice.total_minor, Invoice.customer.name.as_alias("name")).where(
        Invoice.period_start == period_start, Invoice.billing_reason == "subscription_cycle"
    )  # fmt: skip
    return {row["name"].lower(): row["total_minor"] for row in rows}


async def test_a_notice_found_late_moves_the_new_price_to_a_later_renewal(job_ctx: dict[str, Any]) -> None:
    """The worker was down on the notice's day: the notice goes out when it is back, and the new price waits
    for the first renewal at least the full notice period after it."""
    policy = job_ctx["settings"].billing
    test_clock = await create_test_clock("late", T0)
    basic = await factories.plan(code="basic", amount_minor=1900, interval="month")
    sub = await on_basic(basic.id, customer=(await factories.clock_customer(test_clock.id)).id)
    v2 = (await new_price(basic.id, 2500, actor="staff:1")).plan_id
    report = await move_subscribers(v2, actor="staff:1", policy=policy, from_plan_id=basic.id)
    assert report.scheduled == {sub.id: renewal(2)}
    late = renewal(2) - NOTICE + timedelta(days=3)
    await move_test_clock(test_clock.id, late, actor="test")  # nothing ran meanwhile
    [notice] = await send_price_notices(policy, test_clock_id=test_clock.id)
    assert (notice["at"], notice["effective_at"]) == (late, renewal(3))
    move = await PriceMove.select(PriceMove.effective_at, PriceMove.noticed_at).first()
    assert move == {"effective_at": renewal(3), "noticed_at": late}
    assert await send_price_notices(policy, test_clock_id=test_clock.id) == []  # once


async def test_a_later_move_replaces_one_not_yet_applied_and_only_older_prices_move(job_ctx: dict[str, Any]) -> None:
    policy = job_ctx["settings"].billing
    basic = await factories.plan(code="basic", amount_minor=1900, interval="month")
    sub = await on_basic(basic.id)
    lone = await factories.plan(code="lone")
    with pytest.raises(InvalidInput, match="not an older price"):  # never re-priced: nothing to move from
        await move_subscribers(lone.id, actor="t", policy=policy, from_plan_id=basic.id)
    v2 = (await new_price(basic.id, 2500, actor="t")).plan_id
    with pytest.raises(Conflict, match="closed to sign-ups"):
        await move_subscribers(basic.id, actor="t", policy=policy, subscription_ids=[sub.id])
    assert list((await move_subscribers(v2, actor="t", policy=policy, from_plan_id=basic.id)).scheduled) == [sub.id]
    again = await move_subscribers(v2, actor="t", policy=policy, subscription_ids=[sub.id])
    assert (again.scheduled, again.unchanged) == ({}, [sub.id])  # kept as it was, dates and notice included
    v3 = (await new_price(v2, 2300, actor="t")).plan_id
    await move_subscribers(v3, actor="t", policy=policy, from_plan_id=basic.id)
    moves = await PriceMove.select(PriceMove.to_plan, PriceMove.canceled_at).order_by(PriceMove.id)
    assert [(m["to_plan"], m["canceled_at"] is None) for m in moves] == [(v2, False), (v3, True)]
