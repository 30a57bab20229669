"""What a recorded charge outcome does to invoices and subscriptions (the calls the payments service makes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app import clock
from app.billing import service as invoices
from app.billing.dunning import record_failure
from app.billing.events import BillingSubscribers
from app.billing.renewals import generate_renewals
from app.outbox.service import DomainEvent
from app.settings import BillingSettings
from app.subscriptions import changes, service, settlement
from app.subscriptions.settlement import settle_open_invoice, settle_paid_invoice
from tables.billing import Invoice
from tables.outbox import OutboxEvent
from tables.subscriptions import Subscription, SubscriptionEvent
from tests import factories

T0 = datetime(2026, 3, 1, tzinfo=UTC)


async def status(subscription_id: int) -> str:
    rows = await Subscription.select(Subscription.status, Subscription.plan).where(Subscription.id == subscription_id)
    return str(rows[0]["status"])


async def test_paying_the_first_invoice_activates_the_subscription() -> None:
    customer, plan = await factories.customer(), await factories.plan()
    subscribed = await service.subscribe(customer.id, plan.id, actor="customer:1", at=T0)
    assert subscribed.invoice is not None
    await settle_paid_invoice(subscribed.invoice.id, actor="payments", at=T0)
    assert await status(subscribed.subscription_id) == "active"


async def test_paying_a_plan_change_invoice_applies_the_change() -> None:
    basic = await factories.plan(amount_minor=1000)
    pro = await factories.plan(amount_minor=2000)
    sub = await factories.subscription(plan=basic.id, billing_anchor=T0)  # March 1 to April 1
    started = await changes.change_plan(sub.id, pro.id, actor="customer:1", at=T0 + timedelta(days=15))
    assert started.invoice is not None
    await settle_paid_invoice(started.invoice.id, actor="payments")
    plan = await Subscription.select(Subscription.plan).where(Subscription.id == sub.id)
    assert plan[0]["plan"] == pro.id


async def test_a_failed_renewal_goes_past_due_and_paying_it_restores_active() -> None:
    sub = await factories.subscription(billing_anchor=T0)
    due = clock.as_utc(sub.current_period_end)  # April 1
    with clock.frozen_at(due):
        (invoice_id,) = (await generate_renewals()).invoice_ids
    retry_at = due + timedelta(days=BillingSettings().dunning_retry_days[0])
    policy = BillingSettings()
    assert await record_failure(invoice_id, actor="payments", reason="INSTRUMENT_DECLINED", policy=policy) == retry_at
    assert await status(sub.id) == "past_due"
    row = await Invoice.select(Invoice.attempt_count, Invoice.next_payment_attempt_at).where(Invoice.id == invoice_id)
    assert row == [{"attempt_count": 1, "next_payment_attempt_at": retry_at}]
    await record_failure(invoice_id, actor="payments", reason="again", policy=policy)
    assert await status(sub.id) == "past_due"  # still, and no second transition
    await settle_paid_invoice(invoice_id, actor="payments")
    assert await status(sub.id) == "active"
    paid = await Invoice.select(Invoice.status, Invoice.attempt_count, Invoice.next_payment_attempt_at)
    assert paid == [{"status": "paid", "attempt_count": 2, "next_payment_attempt_at": None}]


async def overdue(at: datetime = T0) -> tuple[int, int]:
    """A subscription whose renewal charge failed once: past_due, its renewal invoice open."""
    sub = await factories.subscription(billing_anchor=at)
    with clock.frozen_at(sub.current_period_end):
        (invoice_id,) = (await generate_renewals()).invoice_ids
    await record_failure(invoice_id, actor="payments", reason="declined", policy=BillingSettings())
    assert await status(sub.id) == "past_due"
    return sub.id, invoice_id


async def test_a_settle_that_fails_half_way_leaves_nothing_half_done_and_the_next_one_finishes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sub_id, invoice_id = await overdue()

    async def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the worker died between 'invoice paid' and 'subscription restored'")

    monkeypatch.setattr(settlement, "transition", crash)
    with pytest.raises(RuntimeError):
        await settle_open_invoice(invoice_id, actor="payments")
    assert (await Invoice.select(Invoice.status).where(Invoice.id == invoice_id).first()) == {"status": "open"}
    assert await status(sub_id) == "past_due"

    monkeypatch.undo()
    assert await settle_open_invoice(invoice_id, actor="payments")
    assert (await Invoice.select(Invoice.status).where(Invoice.id == invoice_id).first()) == {"status": "paid"}
    assert await status(sub_id) == "active"


async def test_a_paid_invoice_whose_subscription_was_left_behind_is_finished_by_the_next_settler(
    job_ctx: dict[str, Any],
) -> None:
    sub_id, invoice_id = await overdue()
    await invoices.mark_paid(invoice_id, actor="payments")  # the invoice side only, as a settler that stopped
    assert await status(sub_id) == "past_due"

    # The payment.succeeded handler (or the charger, or a replayed job) hears the news again and finishes it.
    await BillingSubscribers(job_ctx["settings"], job_ctx["queue"]).payment_succeeded(
        DomainEvent(1, "payment.succeeded", "payment", "1", {"invoice_id": invoice_id, "amount_minor": 1000,
                                                              "currency": "USD"}, clock.now())
    )  # fmt: skip
    assert await status(sub_id) == "active"
    [event] = await SubscriptionEvent.select(SubscriptionEvent.event, SubscriptionEvent.reason).where(
        SubscriptionEvent.subscription == sub_id, SubscriptionEvent.to_status == "active"
    )
    assert event == {"event": "pay", "reason": f"invoice #{invoice_id} paid"}
    assert not await settle_open_invoice(invoice_id, actor="payments")  # done: nothing more happens


async def test_a_paid_invoice_does_not_restore_a_subscription_that_fell_behind_on_a_later_one() -> None:
    sub_id, first = await overdue()
    await settle_open_invoice(first, actor="payments")
    with clock.frozen_at(datetime(2026, 5, 1, tzinfo=UTC)):  # the second period ends on the anchor's day, May 1
        (second,) = (await generate_renewals()).invoice_ids
    await record_failure(second, actor="payments", reason="declined", policy=BillingSettings())
    await invoices.void(second, actor="staff:1", reason="written off")
    assert await status(sub_id) == "past_due"
    assert not await settle_open_invoice(first, actor="payments")  # a late replay of the first one's news
    assert await status(sub_id) == "past_due"


async def test_a_decline_heard_after_the_invoice_was_paid_changes_nothing() -> None:
    """The portal's payment and the charger's declined attempt race: whichever is recorded second, a paid
    invoice is never counted as failed and its subscription never goes past_due for it."""
    sub = await factories.subscription(billing_anchor=T0)
    with clock.frozen_at(sub.current_period_end):
        (invoice_id,) = (await generate_renewals()).invoice_ids
    await settle_open_invoice(invoice_id, actor="customer")
    assert await record_failure(invoice_id, actor="payments", reason="declined", policy=BillingSettings()) is None

    assert await status(sub.id) == "active"
    invoice = await Invoice.select(Invoice.status, Invoice.attempt_count).where(Invoice.id == invoice_id).first()
    assert invoice == {"status": "paid", "attempt_count": 0}
    assert not await OutboxEvent.exists().where(OutboxEvent.event_type == "invoice.payment_failed")
