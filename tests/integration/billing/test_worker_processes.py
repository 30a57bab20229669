"""Money safety with real worker processes (``python -m app worker``, arq on Redis, the SDK against the
sandbox): a worker SIGKILLed in the middle of a billing cycle and started again finishes the cycle without
charging anyone twice; two workers running the same cycle at once charge each invoice once. Captures are
counted in the sandbox's ledger, PayPal's side of the money."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from arq import create_pool
from arq.connections import RedisSettings

from app.billing.testclocks import advance_test_clock, create_test_clock
from app.jobs import ArqJobQueue
from app.settings import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, Settings
from tables.billing import Invoice
from tables.payments import Payment
from tables.subscriptions import Subscription
from tests import factories
from tests.paypal import SandboxControl
from tests.servers import ROOT, server_env

T0 = datetime(2026, 6, 1, 12, tzinfo=UTC)
MAY1, JUN1 = datetime(2026, 5, 1, 11, tzinfo=UTC), datetime(2026, 6, 1, 11, tzinfo=UTC)  # the period due at T0
WAIT_S = 240.0  # how long a state may take to arrive on a loaded machine before the test gives up


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Wait for a state the workers will reach (not a timing assertion: only a bound on waiting)."""
    deadline = asyncio.get_running_loop().time() + WAIT_S
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.1)


@pytest.fixture
def worker_env(api_url: str, settings: Settings, tmp_path: Path) -> dict[str, str]:
    """A worker of its own: the test database, its own arq queue (Redis prefix) and var folder (its mail
    outbox), PayPal = the sandbox."""
    return server_env(
        VAR_DIR=str(tmp_path / "var"),
        REDIS_PREFIX=f"{settings.redis.prefix}-proc-{uuid.uuid4().hex[:6]}",
        PAYPAL_MODE="sandbox",
        PAYPAL_CLIENT_ID=SANDBOX_CLIENT_ID,
        PAYPAL_CLIENT_SECRET=SANDBOX_CLIENT_SECRET,
        PAYPAL_API_URL=api_url,
        PAYPAL_TIMEOUT_S="120",  # held answers outlast the kill: the worker must not give up first
        SMTP_URL="",
    )


@contextmanager
def worker_process(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[str]]:
    with log.open("a") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "app", "worker"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, text=True
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def seed(sandbox: SandboxControl, count: int) -> int:
    """``count`` subscriptions due on one test clock, each with its own saved method; returns the clock."""
    test_clock = await create_test_clock("crash test", T0)
    plan = await factories.plan(amount_minor=999, interval="month")
    tokens = await sandbox.vault("crash@example.com", count)
    for token in tokens:
        customer = await factories.clock_customer(test_clock.id)
        method = await factories.payment_method(token, customer=customer.id)
        await factories.subscription(
            customer=customer.id, plan=plan.id, payment_method=method.id, current_period_start=MAY1,
            current_period_end=JUN1, billing_anchor=MAY1,
        )  # fmt: skip
    return test_clock.id


async def everything_paid_once(sandbox: SandboxControl, count: int) -> None:
    await eventually(lambda: _paid(count), f"{count} invoices paid")
    captures = await sandbox.new_captures()
    assert len(captures) == count  # PayPal's side: one capture per invoice, none twice
    payments = await Payment.select(Payment.invoice, Payment.status, Payment.gateway_capture_id)
    assert sorted(p["invoice"] for p in payments) == sorted(i["id"] for i in await Invoice.select(Invoice.id))
    assert {p["gateway_capture_id"] for p in payments} == {c["id"] for c in captures}
    assert await Subscription.count().where(Subscription.status == "active") == count


async def _paid(count: int) -> bool:
    return bool(await Invoice.count().where(Invoice.status == "paid") == count)


async def test_a_worker_killed_mid_cycle_and_restarted_charges_nobody_twice(
    sandbox: SandboxControl, worker_env: dict[str, str], tmp_path: Path
) -> None:
    count = 30
    clock_id = await seed(sandbox, count)
    await sandbox.hold_webhooks()  # only the restarted worker can learn what happened
    # PayPal captures, then holds every answer: the worker is killed while charges are in flight.
    await sandbox.arm("timeout_after_capture", operation="orders.create", times=count, delay_s=60)
    log = tmp_path / "worker.log"
    with worker_process(worker_env, log) as first:  # its start-up tick renews and charges the cycle
        await eventually(lambda: _captured_at_least(sandbox, 10), "captures in flight")
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert await Invoice.count() == count  # generated and committed before charging
    assert await Invoice.count().where(Invoice.status == "paid") == 0  # no answer was heard
    assert await Payment.count().where(Payment.status == "succeeded") == 0
    assert await Payment.count() > 0  # attempts (and their keys) were committed before PayPal was called

    await sandbox.clear_faults()
    # The leases the dead worker held run out (on the customers' clock); a new worker collects the cycle.
    await advance_test_clock(clock_id, T0 + timedelta(minutes=11), actor="test", run_billing=False)
    with worker_process(worker_env, log):
        await everything_paid_once(sandbox, count)


async def _captured_at_least(sandbox: SandboxControl, count: int) -> bool:
    return len(await sandbox.new_captures()) >= count


async def test_two_workers_running_the_same_cycle_charge_each_invoice_once(
    sandbox: SandboxControl, worker_env: dict[str, str], tmp_path: Path, settings: Settings
) -> None:
    count = 40
    await seed(sandbox, count)
    assert settings.redis.url is not None
    pool = await create_pool(RedisSettings.from_dsn(settings.redis.url))
    queue = ArqJobQueue(pool, f"{worker_env['REDIS_PREFIX']}:queue")
    try:
        last_id = await Subscription.select(Subscription.id).order_by(Subscription.id, ascending=False).first() or {}
        # The same range twice under different job ids (as two overlapping ticks would), and two collections.
        for copy in ("a", "b"):
            await queue.enqueue("renew_shard", 1, last_id["id"], job_id=f"race-shard-{copy}-{uuid.uuid4().hex}")
            await queue.enqueue("collect_invoices", job_id=f"race-collect-{copy}-{uuid.uuid4().hex}")
        with worker_process(worker_env, tmp_path / "a.log"), worker_process(worker_env, tmp_path / "b.log"):
            await everything_paid_once(sandbox, count)
    finally:
        await pool.aclose()
