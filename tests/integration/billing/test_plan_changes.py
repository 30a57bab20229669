"""Plan changes: the preview and the invoice are the same numbers; the plan changes only once that invoice is
paid; downgrades wait for the renewal at the period end; interval changes re-anchor; in a trial every change
is free and the trial end bills the new plan; a credit only gives back what the ledger shows was paid."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from app import clock
from app.billing import service as invoices
from app.billing.errors import IllegalTransition
from app.billing.periods import Interval, first_period
from app.billing.renewals import generate_renewals
from app.errors import Conflict
from app.subscriptions import changes, service
from tables.billing import Invoice, InvoiceLine
from tables.subscriptions import Subscription, SubscriptionEvent
from tests import factories

APR1 = datetime(2026, 4, 1, tzinfo=UTC)
APR16 = datetime(2026, 4, 16, tzinfo=UTC)
MAY1 = datetime(2026, 5, 1, tzinfo=UTC)


async def on_basic() -> tuple[Subscription, int, int, int]:
    basic = await factories.plan(amount_minor=1000, interval="month", name="Basic")
    pro = await factories.plan(amount_minor=3000, interval="month", name="Pro")
    yearly = await factories.plan(amount_minor=10000, interval="year", name="Basic yearly")
    sub = await factories.subscription(plan=basic.id, current_period_start=APR1, current_period_end=MAY1,
                                       billing_anchor=APR1)  # fmt: skip
    await factories.paid_period(sub)  # April was paid: the credit for its unused time has money behind it
    return sub, basic.id, pro.id, yearly.id


async def stored(subscription_id: int) -> dict:  # type: ignore[type-arg]
    row = await Subscription.select().where(Subscription.id == subscription_id).first()
    assert row is not None
    return row


async def test_upgrade_bills_the_previewed_proration_and_applies_once_paid() -> None:
    sub, basic, pro, _ = await on_basic()
    preview = await changes.preview_plan_change(sub.id, pro, at=APR16)
    assert (preview.due_now_minor, preview.next_bill_minor, preview.next_bill_at) == (1000, 3000, MAY1)

    started = await changes.change_plan(sub.id, pro, actor="customer:1", at=APR16)
    assert started.invoice is not None
    assert not started.applied
    lines = await InvoiceLine.select().where(InvoiceLine.invoice == started.invoice.id).order_by(InvoiceLine.id)
    assert [(ln["kind"], ln["amount_minor"], ln["description"]) for ln in lines] == [
        (line.kind, line.amount_minor, line.description) for line in preview.lines
    ]
    assert started.invoice.total_minor == preview.due_now_minor == 1000
    assert (await stored(sub.id))["plan"] == basic  # not before the money is in

    with pytest.raises(Conflict):
        await changes.complete_plan_change(started.invoice.id, actor="payments")
    await invoices.mark_paid(started.invoice.id, actor="payments", at=APR16)
    await changes.complete_plan_change(started.invoice.id, actor="payments")
    after = await stored(sub.id)
    assert (after["plan"], after["billing_anchor"], after["current_period_end"]) == (pro, APR1, MAY1)

    with clock.frozen_at(MAY1):
        await generate_renewals()
    renewal = await Invoice.select(Invoice.total_minor).where(Invoice.period_start == MAY1)
    assert renewal == [{"total_minor": 3000}]


async def test_downgrade_is_scheduled_and_billed_from_the_period_end() -> None:
    sub, _, pro, _ = await on_basic()
    await Subscription.update({Subscription.plan: pro}).where(Subscription.id == sub.id)
    basic = (await factories.plan(amount_minor=1000, interval="month")).id
    started = await changes.change_plan(sub.id, basic, actor="customer:1", at=APR16)
    assert (started.invoice, started.applied, started.change.effective_at) == (None, True, MAY1)
    assert (await stored(sub.id))["pending_plan"] == basic
    assert await Invoice.count().where(Invoice.billing_reason != "subscription_cycle") == 0
    with clock.frozen_at(MAY1):
        await generate_renewals()
    after = await stored(sub.id)
    assert (after["plan"], after["pending_plan"]) == (basic, None)
    renewal = await Invoice.select(Invoice.total_minor).where(Invoice.period_start == MAY1)
    assert renewal == [{"total_minor": 1000}]


async def test_a_scheduled_downgrade_can_be_taken_back() -> None:
    sub, _, pro, _ = await on_basic()
    await Subscription.update({Subscription.plan: pro}).where(Subscription.id == sub.id)
    cheaper = (await factories.plan(amount_minor=500, interval="month")).id
    await changes.change_plan(sub.id, cheaper, actor="customer:1", at=APR16)
    with clock.frozen_at(APR16):
        await changes.cancel_scheduled_change(sub.id, actor="customer:1")
    assert (await stored(sub.id))["pending_plan"] is None
    with pytest.raises(Conflict):
        await changes.cancel_scheduled_change(sub.id, actor="customer:1")


async def test_monthly_to_yearly_re_anchors_billing_at_the_change() -> None:
    sub, _, _, yearly = await on_basic()
    started = await changes.change_plan(sub.id, yearly, actor="customer:1", at=APR16)
    assert started.invoice is not None
    assert started.invoice.total_minor == 9500  # 10,000 for the year from now, less 500 unused on Basic
    await invoices.mark_paid(started.invoice.id, actor="payments", at=APR16)
    await changes.complete_plan_change(started.invoice.id, actor="payments")
    after = await stored(sub.id)
    assert (after["plan"], after["billing_anchor"], after["current_period_start"], after["current_period_end"]) == (
        yearly, APR16, APR16, datetime(2027, 4, 16, tzinfo=UTC)
    )  # fmt: skip
    with clock.frozen_at(datetime(2027, 4, 15, tzinfo=UTC)):
        assert (await generate_renewals()).renewed == 0


async def test_a_double_click_does_not_bill_the_change_twice() -> None:
    sub, _, pro, _ = await on_basic()
    outcomes = await asyncio.gather(
        *(changes.change_plan(sub.id, pro, actor="customer:1", at=APR16) for _ in range(3)), return_exceptions=True
    )
    started = [o for o in outcomes if isinstance(o, changes.PlanChangeStarted)]
    refused = [o for o in outcomes if isinstance(o, Conflict)]
    assert (len(started), len(refused)) == (1, 2)
    assert {r.code for r in refused} == {"plan_change_pending"}
    assert await Invoice.count().where(Invoice.billing_reason == "subscription_update") == 1
    assert started[0].invoice is not None
    await invoices.mark_paid(started[0].invoice.id, actor="payments", at=APR16)
    await changes.complete_plan_change(started[0].invoice.id, actor="payments")
    await changes.complete_plan_change(started[0].invoice.id, actor="payments")  # a repeat is harmless
    assert await SubscriptionEvent.count().where(SubscriptionEvent.event == "plan_change") == 1


async def trialing(plan_id: int) -> tuple[int, datetime]:
    """A Basic trial started Apr 1 through the lifecycle (subscribe, then a vaulted method): its id and end."""
    customer = await factories.customer()
    subscribed = await service.subscribe(customer.id, plan_id, actor="customer", at=APR1)
    assert subscribed.trial_end is not None
    await service.start_trial(subscribed.subscription_id, actor="customer", at=APR1)
    return subscribed.subscription_id, subscribed.trial_end


@pytest.mark.parametrize(
    ("to", "first_bill"),
    [("pro", (3000, "month")), ("cheap", (500, "month")), ("yearly", (10000, "year"))],
)  # an upgrade, a downgrade, an interval change
async def test_a_change_in_a_trial_bills_nothing_and_the_trial_end_bills_the_new_plan(
    to: str, first_bill: tuple[int, str]
) -> None:
    basic = await factories.plan(amount_minor=1000, interval="month", name="Basic", trial_days=7)
    plans = {"pro": await factories.plan(amount_minor=3000, interval="month", name="Pro"),
             "cheap": await factories.plan(amount_minor=500, interval="month", name="Lite"),
             "yearly": await factories.plan(amount_minor=10000, interval="year", name="Basic yearly")}  # fmt: skip
    sub_id, trial_end = await trialing(basic.id)
    at = APR1 + (trial_end - APR1) / 2

    started = await changes.change_plan(sub_id, plans[to].id, actor="customer", at=at)

    assert (started.invoice, started.applied, started.change.trial, started.change.lines) == (None, True, True, ())
    after = await stored(sub_id)
    assert (after["plan"], after["pending_plan"], after["status"]) == (plans[to].id, None, "trialing")
    assert (after["trial_end"], after["current_period_end"], after["billing_anchor"]) == (trial_end,) * 3
    assert await Invoice.count() == 0  # no invoice, no credit for the unpaid trial
    [event] = await SubscriptionEvent.select().where(SubscriptionEvent.event == "plan_change").output(load_json=True)
    assert (event["data"]["to_plan"], event["data"]["trial"], event["occurred_at"]) == (plans[to].id, True, at)

    with clock.frozen_at(trial_end):
        [invoice_id] = (await generate_renewals()).invoice_ids
    amount, unit = first_bill
    invoice = await Invoice.select().where(Invoice.id == invoice_id).first()
    assert invoice is not None
    expected = first_period(trial_end, Interval.of(unit))
    assert (invoice["total_minor"], invoice["period_start"], invoice["period_end"]) == (
        amount, expected.start, expected.end
    )  # fmt: skip
    assert (await stored(sub_id))["status"] == "active"


async def test_a_voided_bill_leaves_nothing_to_credit() -> None:
    sub, _, pro, _ = await on_basic()
    [april] = await Invoice.select(Invoice.id).where(Invoice.subscription == sub.id)
    await Invoice.update({Invoice.status: Invoice.Status.void}).where(Invoice.id == april["id"])  # e.g. by staff

    preview = await changes.preview_plan_change(sub.id, pro, at=APR16)

    assert [(line.kind, line.amount_minor) for line in preview.lines] == [("proration_charge", 1500)]


async def test_what_a_credit_note_gave_back_is_not_credited_again() -> None:
    sub, _, pro, yearly = await on_basic()
    [april] = await Invoice.select(Invoice.id).where(Invoice.subscription == sub.id)
    await invoices.issue_credit_note(april["id"], 600, reason="goodwill", actor="staff:1")  # 400 of 1000 still paid

    upgrade = await changes.preview_plan_change(sub.id, pro, at=APR16)
    interval = await changes.preview_plan_change(sub.id, yearly, at=APR16)

    assert upgrade.lines[0].amount_minor == interval.lines[0].amount_minor == -200  # half of the 400 still paid


async def test_a_second_change_credits_the_time_the_first_one_bought() -> None:
    sub, _, pro, _ = await on_basic()
    first = await changes.change_plan(sub.id, pro, actor="customer", at=APR16)
    assert first.invoice is not None
    await invoices.mark_paid(first.invoice.id, actor="payments", at=APR16)
    await changes.complete_plan_change(first.invoice.id, actor="payments")
    top = await factories.plan(amount_minor=6000, interval="month", name="Top")

    second = await changes.preview_plan_change(sub.id, top.id, at=datetime(2026, 4, 24, tzinfo=UTC))

    # Pro was bought from Apr 16 for 1500 (15 days); 7 of them are unused on Apr 24.
    assert [line.amount_minor for line in second.lines] == [-700, 1400]


async def test_after_a_pause_the_credit_stays_within_what_was_paid() -> None:
    sub, _, pro, _ = await on_basic()
    await service.pause(sub.id, actor="customer", at=datetime(2026, 4, 10, tzinfo=UTC))
    await service.resume(sub.id, actor="customer", at=datetime(2026, 4, 20, tzinfo=UTC))
    resumed = await stored(sub.id)
    assert resumed["current_period_end"] == datetime(2026, 5, 11, tzinfo=UTC)  # the 21 days left at the pause

    change = await changes.preview_plan_change(sub.id, pro, at=datetime(2026, 4, 25, tzinfo=UTC))

    credit, charge = change.lines
    # April's 1000 spread over the stretched Apr 1 - May 11 (40 days), 16 left; the charge counts the same days.
    assert (credit.amount_minor, charge.amount_minor) == (-400, 1200)
    assert -credit.amount_minor <= 1000 * 16 / 30  # never more than the unused share of what was paid


async def test_no_change_while_the_period_is_billed_but_not_paid() -> None:
    sub, _, pro, _ = await on_basic()
    with clock.frozen_at(MAY1):
        await generate_renewals()  # May's bill is open until it is charged

    with pytest.raises(Conflict) as refused:
        await changes.preview_plan_change(sub.id, pro, at=MAY1)

    assert refused.value.code == "period_unpaid"
    assert await Invoice.count().where(Invoice.billing_reason == "subscription_update") == 0


async def test_a_past_due_subscription_cannot_change_plan() -> None:
    sub, _, pro, _ = await on_basic()
    await Subscription.update({Subscription.status: Subscription.Status.past_due}).where(Subscription.id == sub.id)

    with pytest.raises(IllegalTransition):
        await changes.change_plan(sub.id, pro, actor="customer", at=APR16)

    assert await Invoice.count().where(Invoice.billing_reason == "subscription_update") == 0
