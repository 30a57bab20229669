"""Advancing a test clock runs everything that falls due for its customers in the skipped time, in time order,
each at its own instant: checkout expiries, renewals (trial ends, scheduled downgrades, cancellations at the
period end), their charges, dunning retries and the final action, reminders. Against the bundled sandbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from app.billing.periods import Interval, boundary
from app.billing.testclocks import create_test_clock
from app.billing.timetravel import advance_and_run
from app.subscriptions import changes, service
from tables.billing import Invoice
from tables.payments import Payment
from tables.subscriptions import Subscription, SubscriptionEvent
from tasks.billing import collect_invoices
from tasks.outbox import dispatch_outbox
from tests import factories
from tests.integration.billing.conftest import Vaulted, with_policy
from tests.paypal import HELD_S, SandboxControl
from tests.smtp import Mailbox

T0 = datetime(2026, 6, 1, 9, tzinfo=UTC)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


async def on_clock(clock_id: int, name: str, vaulted: Vaulted | None = None) -> tuple[int, int | None]:
    customer = await factories.clock_customer(clock_id, email=f"{name}@example.com", name=name.title())
    method = await vaulted(customer.id, f"{name}@example.com") if vaulted else None
    return customer.id, method.id if method else None


async def subscribed(clock_id: int, name: str, vaulted: Vaulted, plan_id: int, **values: Any) -> int:
    customer_id, method_id = await on_clock(clock_id, name, vaulted)
    sub = await factories.subscription(customer=customer_id, plan=plan_id, payment_method=method_id, **values)
    return sub.id


async def test_an_advance_runs_what_falls_due_in_time_order_each_at_its_instant(
    job_ctx: dict[str, Any], sandbox: SandboxControl, vaulted: Vaulted
) -> None:
    ctx = with_policy(job_ctx, dunning_retry_days=(2,), dunning_final_action="cancel")
    test_clock = await create_test_clock("a week", T0)
    standard = await factories.plan(name="Standard", amount_minor=2000, interval="month")
    lite = await factories.plan(name="Lite", amount_minor=1000, interval="month")
    # Eve's renewal (day 1) is declined, and her retry (day 3): canceled, as the policy says.
    eve = await subscribed(test_clock.id, "eve", vaulted, standard.id, current_period_start=day(-29),
                           current_period_end=day(1), billing_anchor=day(1))  # fmt: skip
    await sandbox.arm("instrument_declined", payer_email="eve@example.com")
    # Bob downgraded to Lite: it takes effect, and is billed, at his period end (day 4).
    bob = await subscribed(test_clock.id, "bob", vaulted, standard.id, current_period_start=day(-26),
                           current_period_end=day(4), billing_anchor=day(4))  # fmt: skip
    await changes.change_plan(bob, lite.id, actor="customer", at=T0)
    # Cyd cancels at her period end (day 5); Ann's trial ends on day 6 (its reminder is due on day 3).
    cyd = await subscribed(test_clock.id, "cyd", vaulted, standard.id, current_period_start=day(-25),
                           current_period_end=day(5), billing_anchor=day(5), cancel_at_period_end=True)  # fmt: skip
    ann = await subscribed(test_clock.id, "ann", vaulted, standard.id, status="trialing", trial_end=day(6),
                           current_period_start=day(-8), current_period_end=day(6), billing_anchor=day(6))  # fmt: skip
    # Dee left a checkout unpaid at T0: it lapses after 23 hours.
    dee_customer, _ = await on_clock(test_clock.id, "dee")
    dee = (await service.subscribe(dee_customer, standard.id, actor="customer")).subscription_id

    run = await advance_and_run(test_clock.id, day(7), actor="staff:1", charge=ctx["charge_invoice"],
                                policy=ctx["settings"].billing)  # fmt: skip

    # (at, expired, renewed, ended, attempted, reminded)
    assert [(s.at, s.expired, s.renewed, s.ended, s.attempted, s.reminded) for s in run.steps] == [
        (T0, 0, 0, 0, 1, 2),  # Bob's and Eve's renewal reminders were due; Dee's first invoice leaves collection
        (T0 + timedelta(hours=23), 1, 0, 0, 0, 0),
        (day(1), 0, 1, 0, 1, 0),
        (day(3), 0, 0, 0, 1, 1),
        (day(4), 0, 1, 0, 1, 0),
        (day(5), 0, 0, 1, 0, 0),
        (day(6), 0, 1, 0, 1, 0),
    ]
    events = await SubscriptionEvent.select(
        SubscriptionEvent.subscription, SubscriptionEvent.event, SubscriptionEvent.to_status,
        SubscriptionEvent.occurred_at,
    ).order_by(SubscriptionEvent.occurred_at).order_by(SubscriptionEvent.id)  # fmt: skip
    names = {eve: "eve", bob: "bob", cyd: "cyd", ann: "ann", dee: "dee"}
    assert [(names[e["subscription"]], e["event"], e["to_status"], e["occurred_at"]) for e in events] == [
        ("dee", "expire", "incomplete_expired", T0 + timedelta(hours=23)),
        ("eve", "renew_failed", "past_due", day(1)),
        ("eve", "cancel", "canceled", day(3)),
        ("bob", "plan_change_scheduled", "active", day(4)),  # recorded at T0, effective at the period end
        ("bob", "plan_change", "active", day(4)),
        ("cyd", "cancel", "canceled", day(5)),
        ("ann", "trial_end", "active", day(6)),
    ]
    statuses = {names[r["id"]]: r["status"] for r in await Subscription.select(Subscription.id, Subscription.status)}
    assert statuses == {"eve": "canceled", "bob": "active", "cyd": "canceled", "ann": "active",
                        "dee": "incomplete_expired"}  # fmt: skip
    renewals = await Invoice.select(Invoice.subscription, Invoice.total_minor, Invoice.status, Invoice.paid_at).where(
        Invoice.billing_reason == "subscription_cycle"
    )  # fmt: skip
    assert sorted((names[r["subscription"]], r["total_minor"], r["status"], r["paid_at"]) for r in renewals) == [
        ("ann", 2000, "paid", day(6)), ("bob", 1000, "paid", day(4)), ("eve", 2000, "open", None),
    ]  # fmt: skip
    assert len(await sandbox.new_captures()) == 2


async def test_an_unanswered_charge_is_not_repeated_within_an_advance_but_reconciled_after_it(
    job_ctx: dict[str, Any], sandbox: SandboxControl, vaulted: Vaulted
) -> None:
    test_clock = await create_test_clock("slow", T0)
    plan = await factories.plan(amount_minor=1500, interval="month")
    await subscribed(test_clock.id, "slow", vaulted, plan.id, current_period_start=day(-29),
                     current_period_end=day(1), billing_anchor=day(1))  # fmt: skip
    await sandbox.hold_webhooks()  # PayPal's news comes late: only asking again can settle it
    await sandbox.arm("timeout_after_capture", operation="orders.create", times=1, delay_s=HELD_S)

    # Its lease runs out ten minutes (of clock time) after the attempt; the advance does not go round again.
    run = await advance_and_run(test_clock.id, day(1) + timedelta(hours=1), actor="staff:1",
                                charge=job_ctx["charge_invoice"], policy=job_ctx["settings"].billing)  # fmt: skip
    assert run.total("attempted") == 1
    [payment] = await Payment.select(Payment.status, Payment.invoice)
    assert payment["status"] == "unknown"
    assert (await Invoice.select(Invoice.status).where(Invoice.id == payment["invoice"]).first()) == {"status": "open"}

    assert await collect_invoices(job_ctx) == 1  # the collector asks again, with the same key
    assert (await Invoice.select(Invoice.status).where(Invoice.id == payment["invoice"]).first()) == {"status": "paid"}
    assert await Payment.count() == 1
    assert len(await sandbox.new_captures()) == 1


def monthly_until(end: datetime) -> dict[str, Any]:
    """A monthly period ending at ``end`` (its anchor), as the period maths counts it."""
    return {"current_period_start": boundary(end, Interval.of("month"), -1), "current_period_end": end,
            "billing_anchor": end}  # fmt: skip


async def test_every_reminder_due_during_an_advance_is_mailed_as_it_was_due(
    job_ctx: dict[str, Any], sandbox: SandboxControl, vaulted: Vaulted, mailbox: Mailbox
) -> None:
    """Three reminders fall due in one advance, and the renewals they announce happen in the same advance (one
    declined): each is mailed, saying what was due when it was written, not what is true after the advance."""
    test_clock = await create_test_clock("reminders", T0)
    gold = await factories.plan(name="Gold", amount_minor=2500, interval="month")
    await subscribed(test_clock.id, "tia", vaulted, gold.id, status="trialing", trial_end=day(5),
                     **monthly_until(day(5)))  # fmt: skip
    await subscribed(test_clock.id, "ren", vaulted, gold.id, **monthly_until(day(10)))
    await subscribed(test_clock.id, "dec", vaulted, gold.id, **monthly_until(day(9)))
    await sandbox.arm("instrument_declined", payer_email="dec@example.com")

    run = await advance_and_run(test_clock.id, day(12), actor="staff:1", charge=job_ctx["charge_invoice"],
                                policy=job_ctx["settings"].billing)  # fmt: skip
    assert (run.total("reminded"), run.total("renewed")) == (3, 3)

    await dispatch_outbox(job_ctx)
    renewals = await mailbox.wait_for("billing_upcoming_renewal", count=2)
    [trial] = await mailbox.wait_for("billing_trial_ending")
    said = {m["To"]: Mailbox.text(m) for m in renewals}
    assert "renews on June 10, 2026 for $25.00" in said["dec@example.com"]
    assert "renews on June 11, 2026 for $25.00" in said["ren@example.com"]
    assert trial["To"] == "tia@example.com"
    assert "trial ends on June 6, 2026" in Mailbox.text(trial)
