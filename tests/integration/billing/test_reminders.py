"""Upcoming-renewal and trial-ending reminders: each subscription period's once, on the customer's own time,
however often the tick runs; the e-mails follow their outbox events (HTML and text)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from app.billing.reminders import send_reminders
from app.billing.testclocks import advance_test_clock, create_test_clock
from app.settings import Settings
from app.subscriptions import changes
from tables.billing import BillingNotice, Invoice
from tasks.billing import remind_renewals
from tasks.outbox import dispatch_outbox
from tests import factories
from tests.smtp import Mailbox

T0 = datetime(2026, 9, 1, 8, tzinfo=UTC)


async def test_each_period_is_reminded_once_on_the_customers_clock(
    job_ctx: dict[str, Any], settings: Settings, mailbox: Mailbox
) -> None:
    test_clock = await create_test_clock("reminders", T0)
    renewing, trialing, leaving = [
        await factories.clock_customer(test_clock.id, name=n) for n in ("Renee", "Tristan", "Lea")
    ]
    plan = await factories.plan(name="Gold", amount_minor=2500, interval="month")
    end = T0 + timedelta(days=10)
    await factories.subscription(customer=renewing.id, plan=plan.id, ends_at=end)
    trial_end = T0 + timedelta(days=5)
    await factories.subscription(customer=trialing.id, plan=plan.id, status="trialing", trial_end=trial_end,
                                 current_period_end=trial_end, billing_anchor=T0)  # fmt: skip
    await factories.subscription(customer=leaving.id, plan=plan.id, ends_at=end, cancel_at_period_end=True)
    # A real-time customer far from any reminder: never picked up by the clock's customers' run.
    await factories.subscription(plan=(await factories.plan(interval="year")).id)  # renews in a year

    assert await send_reminders(settings.billing) == []  # 10 and 5 days ahead: too early for 7 and 3
    await advance_test_clock(test_clock.id, end - timedelta(days=7), actor="test", run_billing=False)
    notices = await send_reminders(settings.billing)
    assert [(n["kind"], n["ends"]) for n in notices] == [("renewal", end), ("trial", trial_end)]
    assert await remind_renewals(job_ctx) == 0  # the tick again: nothing new
    await advance_test_clock(test_clock.id, end - timedelta(days=1), actor="test", run_billing=False)
    assert await send_reminders(settings.billing) == []
    assert await BillingNotice.count() == 2

    await dispatch_outbox(job_ctx)
    [renewal] = await mailbox.wait_for("billing_upcoming_renewal")
    [trial] = await mailbox.wait_for("billing_trial_ending")
    assert renewal["To"] == renewing.email
    assert "renews on September 11, 2026 for $25.00" in Mailbox.text(renewal)
    assert '/account/subscriptions"' in Mailbox.html(renewal)  # the page that exists (it was a 404 without the s)
    assert trial["To"] == trialing.email
    assert "trial ends on September 6, 2026" in Mailbox.text(trial)


async def test_the_renewal_reminder_states_what_the_renewal_will_charge_a_scheduled_downgrade_included(
    job_ctx: dict[str, Any], settings: Settings, mailbox: Mailbox
) -> None:
    test_clock = await create_test_clock("downgrade", T0)
    customer = await factories.clock_customer(test_clock.id, name="Dora")
    gold = await factories.plan(name="Gold", amount_minor=2500, interval="month")
    lite = await factories.plan(name="Lite", amount_minor=999, interval="month")
    end = T0 + timedelta(days=10)
    sub = await factories.subscription(customer=customer.id, plan=gold.id, ends_at=end)
    await changes.change_plan(sub.id, lite.id, actor="customer", at=T0)  # a downgrade: at the period end
    await advance_test_clock(test_clock.id, end - timedelta(days=7), actor="test", run_billing=False)
    assert len(await send_reminders(settings.billing)) == 1

    await dispatch_outbox(job_ctx)
    [renewal] = await mailbox.wait_for("billing_upcoming_renewal")
    assert "Your Lite subscription renews on September 11, 2026 for $9.99" in Mailbox.text(renewal)
    # The renewal then bills exactly that.
    generated = await advance_test_clock(test_clock.id, end, actor="test")
    [invoice] = await Invoice.select(Invoice.total_minor).where(Invoice.id.is_in(generated.invoice_ids))
    assert invoice == {"total_minor": 999}
