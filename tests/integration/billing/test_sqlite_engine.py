"""The demo runs on SQLite: the billing run's SQL (claim, batched writes, shard planning, dunning's set-based
step) works there too.
Piccolo binds one engine per process, so this runs in a child process on a fresh SQLite file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

SCRIPT = """
import asyncio, contextlib, io, json
from datetime import UTC, datetime

async def main():
    from app.db import migrate
    with contextlib.redirect_stdout(io.StringIO()):
        await migrate()
    from app.billing import service as invoices
    from app.billing.fanout import plan_shards
    from app.billing.lines import subscription_line
    from app.billing.periods import Period
    from app.billing.renewals import generate_renewals
    from app.subscriptions import changes, service
    from tables.billing import Invoice
    from tables.subscriptions import Subscription
    from tests import factories

    jan31, feb28, feb10 = (datetime(2026, m, d, tzinfo=UTC) for m, d in ((1, 31), (2, 28), (2, 10)))
    plan = await factories.plan(amount_minor=1000, interval="month")
    cheap = await factories.plan(amount_minor=500, interval="month")
    subs = [await factories.subscription(plan=plan.id, current_period_start=jan31, current_period_end=feb28,
                                         billing_anchor=jan31) for _ in range(5)]
    await changes.change_plan(subs[0].id, cheap.id, actor="t", at=feb10)
    await service.cancel(subs[1].id, actor="t", reason="moving", at=feb10)
    draft = await invoices.create_draft(subs[2].customer, "USD", [])
    manual = await invoices.create_draft(subs[2].customer, "USD", [subscription_line(await service.plan_terms(plan.id),
                                         Period(jan31, feb28))])
    manual_number = (await invoices.finalize(manual, actor="t", at=feb10)).number
    paused = await factories.subscription(plan=plan.id, current_period_start=jan31, current_period_end=feb28,
                                          billing_anchor=jan31)
    await service.pause(paused.id, actor="t", at=feb10)
    shards = await plan_shards(now=datetime(2026, 3, 1, tzinfo=UTC), shard_size=2)
    result = await generate_renewals(now=datetime(2026, 4, 1, tzinfo=UTC), batch_size=2)
    rows = await Invoice.select(Invoice.subscription, Invoice.number, Invoice.total_minor).where(
        Invoice.id.not_in([draft, manual]))
    statuses = sorted(r["status"] for r in await Subscription.select(Subscription.status))
    from app.billing.dunning import FailedCharge, record_failures
    from app.settings import BillingSettings
    failed = [FailedCharge(i, "declined", datetime(2026, 4, 1, tzinfo=UTC)) for i in result.invoice_ids]
    retries = await record_failures(failed, policy=BillingSettings(dunning_retry_days=()), actor="t")
    print(json.dumps({
        "manual": manual_number,
        "dunned": [len(retries), sorted(r["status"] for r in await Subscription.select(Subscription.status))],
        "renewed": result.renewed, "ended": result.ended, "to_charge": len(result.invoice_ids),
        "shards": [[s.first_id, s.last_id, s.size] for s in shards],
        "invoices": sorted([r["subscription"], r["number"], r["total_minor"]] for r in rows),
        "statuses": statuses,
    }))

asyncio.run(main())
"""


def test_renewal_generation_and_dunning_on_sqlite(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'billing.sqlite'}", "VAR_DIR": str(tmp_path)}
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    outcome = json.loads(run.stdout.strip().splitlines()[-1])
    assert outcome["manual"] == "INV-2026-000001"
    assert (outcome["renewed"], outcome["ended"], outcome["to_charge"]) == (8, 1, 8)
    assert outcome["shards"] == [[1, 2, 2], [3, 4, 2], [5, 5, 1]]
    # Two periods each (Feb 28 and Mar 31) for the four that go on; the downgraded one at the cheaper price.
    assert [(sub, total) for sub, _, total in outcome["invoices"]] == [
        (1, 500), (1, 500), (3, 1000), (3, 1000), (4, 1000), (4, 1000), (5, 1000), (5, 1000)
    ]  # fmt: skip
    assert sorted(number for _, number, _ in outcome["invoices"]) == [f"INV-2026-{n:06d}" for n in range(2, 10)]
    assert outcome["statuses"] == ["active", "active", "active", "active", "canceled", "paused"]  # paused: no invoice
    # Dunning's set-based step on SQLite: two failed renewals of each, without retries: past_due, then unpaid once.
    assert outcome["dunned"] == [8, ["canceled", "paused", "unpaid", "unpaid", "unpaid", "unpaid"]]
