"""The demo's SQLite keeps the same rules: a subscribed plan's price and a customer's test flag are refused by
its triggers, a move to a new price is noticed and applied by the same SQL, and a test clock is deleted with
all its customers own. Piccolo binds one engine per process, so this runs in a child process on a fresh file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

SCRIPT = """
import asyncio, contextlib, io, json, sqlite3
from datetime import UTC, datetime, timedelta

async def refused(update):
    try:
        await update
    except sqlite3.IntegrityError as error:
        return str(error).split(":")[0]
    return "allowed"

async def main():
    from app.db import migrate
    with contextlib.redirect_stdout(io.StringIO()):
        await migrate()
    from app.billing.periods import Interval, boundary
    from app.billing.price_moves import move_subscribers, send_price_notices
    from app.billing.renewals import generate_renewals
    from app.billing.testclocks import create_test_clock, create_test_customer, delete_test_clock
    from app.catalog.prices import new_price
    from app.settings import BillingSettings
    from tables.accounts import Customer
    from tables.billing import Invoice, PriceMove
    from tables.catalog import Plan
    from tables.clocks import TestClock
    from tables.subscriptions import Subscription
    from tests import factories

    anchor = datetime(2027, 1, 15, 9, tzinfo=UTC)
    month = Interval.of("month")
    renewal = lambda n: boundary(anchor, month, n)
    basic = await factories.plan(code="basic", amount_minor=1900, interval="month")
    draft = await factories.plan(amount_minor=500)
    test_clock = await create_test_clock("sqlite", datetime(2027, 2, 1, 9, tzinfo=UTC))
    tess = await create_test_customer(test_clock.id, email="tess@example.com", name="Tess")
    real = await factories.customer()
    sub = await factories.subscription(plan=basic.id, customer=tess, current_period_start=renewal(0),
                                       current_period_end=renewal(1), billing_anchor=anchor)
    refusals = {
        "price": await refused(Plan.update({Plan.amount_minor: 2500}).where(Plan.id == basic.id)),
        "interval": await refused(Plan.update({Plan.interval: "year"}).where(Plan.id == basic.id)),
        "draft": await refused(Plan.update({Plan.amount_minor: 600}).where(Plan.id == draft.id)),
        "real_on_clock": await refused(
            Customer.update({Customer.test_clock: test_clock.id}).where(Customer.id == real.id)
        ),
        "flag": await refused(Customer.update({Customer.is_test: False}).where(Customer.id == tess)),
        "clock_row": await refused(TestClock.delete().where(TestClock.id == test_clock.id)),
    }
    v2 = (await new_price(basic.id, 2500, actor="t")).plan_id
    policy = BillingSettings()
    moved = await move_subscribers(v2, actor="t", policy=policy, from_plan_id=basic.id)
    to_time = lambda at: TestClock.update({TestClock.frozen_time: at}).where(TestClock.id == test_clock.id)
    await to_time(renewal(2) - timedelta(days=policy.price_change_notice_days))
    notices = await send_price_notices(policy)
    await to_time(renewal(2))
    renewed = await generate_renewals(test_clock_id=test_clock.id)
    invoices = await Invoice.select(Invoice.number, Invoice.total_minor).order_by(Invoice.id)
    applied = await PriceMove.select(PriceMove.applied_at).output(as_list=True)
    plan_now = (await Subscription.select(Subscription.plan).where(Subscription.id == sub.id).first())["plan"]
    deleted = await delete_test_clock(test_clock.id)
    print(json.dumps({
        "refusals": refusals,
        "moved": [str(at) for at in moved.scheduled.values()], "notices": len(notices),
        "renewed": renewed.renewed, "invoices": [[i["number"], i["total_minor"]] for i in invoices],
        "applied": [str(a) for a in applied], "on_v2": plan_now == v2,
        "deleted": deleted.rows, "left": await Customer.count(),
        "real_left": await Customer.exists().where(Customer.id == real.id),
    }))

asyncio.run(main())
"""


def test_prices_moves_and_test_clocks_on_sqlite(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'prices.sqlite'}", "VAR_DIR": str(tmp_path)}
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    outcome = json.loads(run.stdout.strip().splitlines()[-1])
    assert outcome["refusals"] == {
        "price": "plan_price_immutable", "interval": "plan_price_immutable", "draft": "allowed",
        "real_on_clock": "customer_test_clock", "flag": "customer_test_clock", "clock_row": "customer_test_clock",
    }  # fmt: skip
    assert outcome["moved"] == ["2027-03-15 09:00:00+00:00"]  # Feb 15 is under 30 days away: the next renewal
    assert outcome["notices"] == 1
    # Feb 15 at the price signed up for, Mar 15 at the new one: numbered in the test series.
    assert outcome["renewed"] == 2
    assert outcome["invoices"] == [["TEST-INV-2027-000001", 1900], ["TEST-INV-2027-000002", 2500]]
    assert outcome["applied"] == ["2027-03-15 09:00:00+00:00"] and outcome["on_v2"]
    assert outcome["deleted"]["customer"] == 1 and outcome["deleted"]["invoice"] == 2
    assert (outcome["left"], outcome["real_left"]) == (1, True)
