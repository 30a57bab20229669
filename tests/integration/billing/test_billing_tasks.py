"""The billing run's jobs: the tick fans out shards with deterministic ids; a shard job generates and hands
the new invoices to the wired charger; a real arq worker runs them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from arq import Worker, create_pool
from arq.connections import RedisSettings

from app import clock
from app.billing.charging import charge_invoices
from app.billing.fanout import plan_shards, tick_of
from app.jobs import ArqJobQueue
from app.settings import Settings
from tables.billing import Invoice
from tables.subscriptions import Subscription
from tasks import worker
from tasks.billing import billing_tick, renew_shard
from tests import factories

JAN1 = datetime(2026, 1, 1, tzinfo=UTC)
FEB1 = datetime(2026, 2, 1, tzinfo=UTC)


async def seed(count: int, *, due: bool = True) -> None:
    plan, customer = await factories.plan(amount_minor=700, interval="month"), await factories.customer()
    end = FEB1 if due else datetime(2026, 12, 1, tzinfo=UTC)
    await Subscription.insert(
        *(Subscription(customer=customer.id, plan=plan.id, status="active", current_period_start=JAN1,
                       current_period_end=end, billing_anchor=JAN1) for _ in range(count))
    )  # fmt: skip


class RecordingQueue:
    """Stands in for the job queue (not for any billing code): records what the tick enqueues."""

    def __init__(self) -> None:
        self.jobs: list[tuple[str, tuple[Any, ...], str | None]] = []

    async def enqueue(self, function: str, *args: Any, job_id: str | None = None, defer_by: Any = None) -> bool:
        self.jobs.append((function, args, job_id))
        return True


async def test_shards_cover_every_due_subscription_and_nothing_else() -> None:
    await seed(250)
    await seed(40, due=False)  # ids 251..290 are not due
    await seed(400)
    with clock.frozen_at(FEB1):
        shards = await plan_shards(shard_size=300)
    # 650 due ids: 1..250 and 291..690; the not-due ids inside a range are simply skipped by its job.
    assert [(s.first_id, s.last_id, s.size) for s in shards] == [(1, 340, 300), (341, 640, 300), (641, 690, 50)]
    assert shards[0].job_id(7) == f"renew:{shards[0].first_id}-{shards[0].last_id}:7"


async def test_tick_enqueues_one_job_per_shard_with_deterministic_ids(settings: Settings) -> None:
    await seed(5)
    queue = RecordingQueue()
    with clock.frozen_at(FEB1 + timedelta(seconds=30)):
        assert await billing_tick({"queue": queue, "settings": settings}) == 1
        assert await billing_tick({"queue": queue, "settings": settings}) == 1
    tick = tick_of(FEB1)
    expected = [("renew_shard", (1, 5), f"renew:1-5:{tick}"), ("expire_checkouts", (), f"expire:{tick}")]
    assert queue.jobs == expected * 2  # the same ids twice: the queue dedupes them


async def test_renew_shard_generates_its_range_and_charges_each_invoice_once() -> None:
    await seed(10)
    charged: list[int] = []

    async def charge(invoice_id: int) -> None:  # the seam the payments service fills
        charged.append(invoice_id)

    with clock.frozen_at(FEB1):
        summary = await renew_shard({"charge_invoice": charge}, 3, 7)
    assert summary == {"renewed": 5, "ended": 0, "invoices": 5, "charged": 5, "charge_errors": 0}
    invoiced = await Invoice.select(Invoice.id, Invoice.subscription)
    assert sorted(i["subscription"] for i in invoiced) == [3, 4, 5, 6, 7]
    assert sorted(charged) == sorted(i["id"] for i in invoiced)


async def test_without_a_charger_invoices_wait_open_for_collection() -> None:
    await seed(2)
    with clock.frozen_at(FEB1):
        summary = await renew_shard({}, 1, 2)
    assert summary["charged"] == 0
    rows = await Invoice.select(Invoice.status, Invoice.next_payment_attempt_at)
    assert rows == [{"status": "open", "next_payment_attempt_at": FEB1}] * 2


async def test_a_failing_charge_does_not_stop_the_others() -> None:
    calls: list[int] = []

    async def charge(invoice_id: int) -> None:
        calls.append(invoice_id)
        if invoice_id == 2:
            raise RuntimeError("gateway adapter bug")

    report = await charge_invoices([1, 2, 3], charge, concurrency=2)
    assert sorted(calls) == [1, 2, 3]
    assert report.attempted == 3
    assert list(report.errors) == [2]


async def test_an_arq_worker_runs_the_tick_and_the_shard_jobs(settings: Settings) -> None:
    await seed(3)
    assert settings.redis.url is not None
    pool = await create_pool(RedisSettings.from_dsn(settings.redis.url))
    name = worker.queue_name(settings) + ":billing-test"
    try:
        queue = ArqJobQueue(pool, name)
        await queue.enqueue("billing_tick", job_id="billing-test-tick")

        async def startup(ctx: dict[str, Any]) -> None:
            ctx.update(worker.build_context(settings))
            ctx["queue"] = queue

        burst = Worker(
            functions=worker.FUNCTIONS, redis_pool=pool, queue_name=name, burst=True, poll_delay=0.05,
            on_startup=startup, handle_signals=False,
        )  # fmt: skip
        with clock.frozen_at(FEB1):  # the worker runs on this event loop: business time is frozen for it too
            await burst.main()
        await burst.close()
        # the tick, one shard, the expiry and the collection of open invoices (with the wired charger)
        assert (burst.jobs_complete, burst.jobs_failed) == (4, 0)
    finally:
        await pool.aclose()
    assert await Invoice.count() == 3
    # These customers saved no payment method: each renewal's first attempt failed and dunning began.
    rows = await Invoice.select(Invoice.attempt_count, Invoice.subscription.status.as_alias("sub_status"))
    assert rows == [{"attempt_count": 1, "sub_status": "past_due"}] * 3


async def test_with_billing_cron_off_the_tick_does_nothing(settings: Settings) -> None:
    await seed(5)
    queue = RecordingQueue()
    off = replace(settings, billing=replace(settings.billing, cron_enabled=False))
    with clock.frozen_at(FEB1):
        assert await billing_tick({"queue": queue, "settings": off}) == 0
    assert queue.jobs == []
