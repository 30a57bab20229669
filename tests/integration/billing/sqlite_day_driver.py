"""Run by test_sqlite_demo_day in a process of the demo's environment (Piccolo binds its engine from DATABASE_URL
at import): ``setup`` gives the running demo a test clock with a day of billing work ahead of it, ``report``
reads what that day left behind. Each prints one JSON line."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import timedelta
from typing import Any

from app import clock
from app.billing.testclocks import create_test_clock
from app.settings import SANDBOX_MOUNT_PATH
from app.subscriptions import service as subscriptions
from tables.billing import BillingNotice, Invoice
from tables.payments import Payment
from tables.subscriptions import Subscription
from tests import factories
from tests.paypal import SandboxControl

RENEWING = 12  # subscriptions renewing during the day, an hour apart
DECLINED = "buyer+declined@example.com"


async def _subscriber(sandbox: SandboxControl, clock_id: int, email: str, **subscription: Any) -> int:
    customer = await factories.clock_customer(clock_id, email=email)  # only test customers live on a clock
    [token] = await sandbox.vault(email)
    method = await factories.payment_method(token, customer=customer.id)
    return (await factories.subscription(customer=customer.id, payment_method=method.id, **subscription)).id


async def setup() -> dict[str, Any]:
    async with SandboxControl(os.environ["BASE_URL"] + SANDBOX_MOUNT_PATH) as sandbox:
        start = clock.now().replace(minute=0, second=0, microsecond=0)
        test_clock = await create_test_clock("a day of the demo", start)
        plan = (await factories.plan(name="Demo monthly", amount_minor=1500, interval="month")).id
        hour = [start + timedelta(hours=n) for n in range(25)]
        renewing = [
            await _subscriber(sandbox, test_clock.id, f"renews{n}@example.com", plan=plan, ends_at=hour[n + 1])
            for n in range(RENEWING)
        ]
        trial = {"plan": plan, "status": "trialing", "current_period_start": start, "billing_anchor": start}
        paid_trial = await _subscriber(
            sandbox, test_clock.id, "trial@example.com", **trial, trial_end=hour[13], current_period_end=hour[13]
        )
        await sandbox.arm("instrument_declined", payer_email=DECLINED, times=10)
        declined_trial = await _subscriber(
            sandbox, test_clock.id, DECLINED, **trial, trial_end=hour[14], current_period_end=hour[14]
        )
        leaving = await _subscriber(
            sandbox, test_clock.id, "leaves@example.com", plan=plan, ends_at=hour[15], cancel_at_period_end=True
        )
        reminded = await _subscriber(
            sandbox, test_clock.id, "reminded@example.com", plan=plan, ends_at=hour[16] + timedelta(days=7)
        )
        walked_away = await factories.clock_customer(test_clock.id, email="walked-away@example.com")  # left unpaid
        abandoned = (await subscriptions.subscribe(walked_away.id, plan, actor="customer", at=start)).subscription_id
    return {
        "clock": test_clock.id,
        "start": start.isoformat(),
        "renewing": renewing,
        "paid_trial": paid_trial,
        "declined_trial": declined_trial,
        "leaving": leaving,
        "reminded": reminded,
        "abandoned": abandoned,
    }


async def report() -> dict[str, Any]:
    subscriptions = await Subscription.select(Subscription.id, Subscription.status)
    invoices = await Invoice.select(Invoice.subscription, Invoice.status, Invoice.billing_reason)
    return {
        "status": {row["id"]: row["status"] for row in subscriptions},
        "invoices": sorted([row["subscription"], row["billing_reason"], row["status"]] for row in invoices),
        "payments": sorted(row["status"] for row in await Payment.select(Payment.status)),
        "notices": sorted([row["subscription"], row["kind"]] for row in await BillingNotice.select()),
    }


if __name__ == "__main__":
    step = {"setup": setup, "report": report}[sys.argv[1]]
    print(json.dumps(asyncio.run(step()), default=str))
