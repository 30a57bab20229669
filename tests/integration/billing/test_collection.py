"""Leasing open invoices for charge attempts: due ones only, each to one worker, again after the lease or at
the next attempt time; customers on a test clock by its time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from app import clock
from app.billing.collection import LEASE, lease_invoices
from app.billing.dunning import record_failure
from app.billing.renewals import generate_renewals
from app.settings import BillingSettings
from app.subscriptions.settlement import settle_paid_invoice
from tables.billing import Invoice
from tables.subscriptions import Subscription
from tasks.billing import collect_invoices
from tests import factories

JAN1, FEB1 = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC)


async def renewed(count: int, **customer: object) -> list[int]:
    plan, owner = await factories.plan(amount_minor=500), await factories.customer(**customer)
    await Subscription.insert(
        *(Subscription(customer=owner.id, plan=plan.id, status="active", current_period_start=JAN1,
                       current_period_end=FEB1, billing_anchor=JAN1) for _ in range(count))
    )  # fmt: skip
    with clock.frozen_at(FEB1):
        return (await generate_renewals()).invoice_ids


async def test_a_lease_hands_each_due_invoice_to_one_caller_until_it_runs_out() -> None:
    ids = await renewed(30)
    first, second = await asyncio.gather(lease_invoices(now=FEB1, limit=20), lease_invoices(now=FEB1, limit=20))
    assert sorted(first + second) == sorted(ids)
    assert not set(first) & set(second)
    assert await lease_invoices(now=FEB1 + LEASE - timedelta(seconds=1)) == []
    assert sorted(await lease_invoices(now=FEB1 + LEASE, limit=100)) == sorted(ids)


async def test_only_open_invoices_whose_attempt_time_has_come() -> None:
    paid, failed, waiting = await renewed(3)
    await settle_paid_invoice(paid, actor="payments", at=FEB1)
    retry = await record_failure(failed, actor="payments", reason="declined", policy=BillingSettings(), at=FEB1)
    assert retry == FEB1 + timedelta(days=1)
    assert await lease_invoices(now=FEB1) == [waiting]
    # A day later: the unanswered lease on `waiting` ran out first, then the retry of `failed` is due.
    assert await lease_invoices(now=FEB1 + timedelta(days=1)) == [waiting, failed]


async def test_customers_on_a_test_clock_are_collected_by_its_time() -> None:
    frozen = await factories.test_clock(frozen_time=FEB1)
    (invoice_id,) = await renewed(1, test_clock=frozen.id, is_test=True)
    assert await lease_invoices(now=JAN1) == [invoice_id]  # real time is irrelevant for this customer
    row = await Invoice.select(Invoice.next_payment_attempt_at).where(Invoice.id == invoice_id)
    assert row[0]["next_payment_attempt_at"] == FEB1 + LEASE  # leased in the clock's time


async def test_the_collect_job_charges_due_invoices_and_leaves_retries_for_later() -> None:
    ids = await renewed(4)
    charged: list[int] = []

    async def charge(invoice_id: int) -> None:  # the seam the payments service fills
        charged.append(invoice_id)
        await record_failure(invoice_id, actor="payments", reason="declined", policy=BillingSettings())  # +1 day

    with clock.frozen_at(FEB1 + timedelta(minutes=1)):
        assert await collect_invoices({"charge_invoice": charge}) == 4
        assert await collect_invoices({"charge_invoice": charge}) == 0  # next attempt is tomorrow
    assert sorted(charged) == sorted(ids)
    with clock.frozen_at(FEB1 + timedelta(days=1, minutes=1)):
        assert await collect_invoices({"charge_invoice": charge}) == 4
    assert await collect_invoices({}) == 0
