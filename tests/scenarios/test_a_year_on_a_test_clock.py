"""A subscription travels through a year of renewals on a test clock, month by month: at every step exactly
one invoice for exactly the right period and amount, numbered in sequence (in the test customers' series); a
downgrade, an upgrade with proration and a cancellation each land at their instant. Amounts here are worked out
by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.billing import service as invoices
from app.billing.testclocks import advance_test_clock, create_test_clock
from app.subscriptions import changes, service
from tables.billing import Invoice
from tables.subscriptions import Subscription
from tests import factories

pytestmark = pytest.mark.usefixtures("clean_db")


def at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 10, tzinfo=UTC)


# (period start, period end, amount) of every renewal: month ends clamped and restored from the Jan 31 anchor.
RENEWALS = [
    (at(2026, 2, 28), at(2026, 3, 31), 1999),
    (at(2026, 3, 31), at(2026, 4, 30), 1999),
    (at(2026, 4, 30), at(2026, 5, 31), 1999),
    (at(2026, 5, 31), at(2026, 6, 30), 1999),
    (at(2026, 6, 30), at(2026, 7, 31), 999),  # downgrade to Lite scheduled on Jun 15, effective here
    (at(2026, 7, 31), at(2026, 8, 31), 999),
    (at(2026, 8, 31), at(2026, 9, 30), 999),
    (at(2026, 9, 30), at(2026, 10, 31), 2999),  # upgraded to Pro on Sep 10
    (at(2026, 10, 31), at(2026, 11, 30), 2999),
    (at(2026, 11, 30), at(2026, 12, 31), 2999),
    (at(2026, 12, 31), at(2027, 1, 31), 2999),
    (at(2027, 1, 31), at(2027, 2, 28), 2999),
]


async def test_a_year_of_renewals() -> None:
    standard = await factories.plan(name="Standard", amount_minor=1999, interval="month")
    lite = await factories.plan(name="Lite", amount_minor=999, interval="month")
    pro = await factories.plan(name="Pro", amount_minor=2999, interval="month")
    test_clock = await create_test_clock("a year", at(2026, 1, 31))
    customer = await factories.clock_customer(test_clock.id, name="Grace Hopper")

    subscribed = await service.subscribe(customer.id, standard.id, actor="customer:1")
    assert subscribed.invoice is not None
    assert (subscribed.invoice.number, subscribed.invoice.total_minor) == ("TEST-INV-2026-000001", 1999)
    assert subscribed.period.end == at(2026, 2, 28)
    await invoices.mark_paid(subscribed.invoice.id, actor="payments")
    await service.activate(subscribed.subscription_id, actor="payments")
    sub_id = subscribed.subscription_id
    # A test customer's invoices have their own series: the live one (INV-) stays gapless and in real time.
    expected_numbers = iter(
        [*(f"TEST-INV-2026-{n:06d}" for n in (2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13)), "TEST-INV-2027-000001"]
    )

    for start, end, amount in RENEWALS:
        # A second before the period ends nothing is billed; at its end, exactly one invoice.
        assert (await advance_test_clock(test_clock.id, start - timedelta(seconds=1), actor="staff:1")).renewed == 0
        result = await advance_test_clock(test_clock.id, start, actor="staff:1")
        assert (result.renewed, len(result.invoice_ids)) == (1, 1)
        invoice = await Invoice.select().where(Invoice.id == result.invoice_ids[0]).output(load_json=True).first()
        assert invoice is not None
        assert (invoice["period_start"], invoice["period_end"], invoice["total_minor"]) == (start, end, amount)
        assert invoice["number"] == next(expected_numbers)
        assert (invoice["status"], invoice["finalized_at"]) == ("open", start)
        assert invoice["customer_snapshot"]["name"] == "Grace Hopper"
        sub = await Subscription.select().where(Subscription.id == sub_id).first()
        assert sub is not None
        assert (sub["status"], sub["current_period_start"], sub["current_period_end"]) == ("active", start, end)
        await invoices.mark_paid(invoice["id"], actor="payments")

        # Mid-period actions, on the customer's clock.
        if start == at(2026, 5, 31):
            await advance_test_clock(test_clock.id, at(2026, 6, 15), actor="staff:1")
            scheduled = await changes.change_plan(sub_id, lite.id, actor="customer:1")
            assert (scheduled.invoice, scheduled.change.effective_at) == (None, at(2026, 6, 30))
        if start == at(2026, 8, 31):
            await advance_test_clock(test_clock.id, at(2026, 9, 10), actor="staff:1")
            preview = await changes.preview_plan_change(sub_id, pro.id)
            # 20 of the period's 30 days left: credit 999*2/3 = 666, charge 2999*2/3 = 1999.33 -> 1999.
            assert [line.amount_minor for line in preview.lines] == [-666, 1999]
            upgrade = await changes.change_plan(sub_id, pro.id, actor="customer:1")
            assert upgrade.invoice is not None
            assert (upgrade.invoice.number, upgrade.invoice.total_minor) == ("TEST-INV-2026-000009", 1333)
            await invoices.mark_paid(upgrade.invoice.id, actor="payments")
            await changes.complete_plan_change(upgrade.invoice.id, actor="payments")

    # Cancel at the period end in February 2027: it ends on Feb 28 at 10:00 sharp, with no further invoice.
    await advance_test_clock(test_clock.id, at(2027, 2, 10), actor="staff:1")
    await service.cancel(sub_id, actor="customer:1", reason="project finished")
    assert (await advance_test_clock(test_clock.id, at(2027, 2, 28) - timedelta(seconds=1), actor="t")).ended == 0
    ended = await advance_test_clock(test_clock.id, at(2027, 3, 31), actor="staff:1")
    assert (ended.ended, ended.renewed) == (1, 0)
    sub = await Subscription.select().where(Subscription.id == sub_id).first()
    assert sub is not None
    assert (sub["status"], sub["ended_at"]) == ("canceled", at(2027, 2, 28))

    all_invoices = await Invoice.select(Invoice.total_minor, Invoice.status).where(Invoice.subscription == sub_id)
    assert len(all_invoices) == 1 + 1 + len(RENEWALS)  # first, upgrade, renewals
    assert {i["status"] for i in all_invoices} == {"paid"}
    assert sum(i["total_minor"] for i in all_invoices) == 1999 + 1333 + sum(amount for _, _, amount in RENEWALS)
