"""One billing cycle on PostgreSQL against the bundled PayPal sandbox, in renewals per second.

    .venv/bin/python bench/billing_run.py [--n 20000] [--shards-in-flight 4] [--workers CPUS]

Creates and drops its own database, starts the sandbox as a process of its own (``python -m
app.payments.sandbox``) and vaults one PayPal payment token per customer there (its control panel's bulk
endpoint), then seeds 2N due monthly subscriptions with saved methods and measures, on the same machine:

- baseline_insert_per_s: N invoice rows written with one bulk (multi-row) INSERT, nothing else;
- generation_per_s: the invoice-generation step alone (``generate_renewals``) over the first N: claim, decide,
  invoices + lines + events + outbox rows, subscriptions advanced;
- gateway_only_per_s: N/10 charges straight through the adapter to the sandbox (20 in flight), no database:
  the ceiling the gateway (the synchronous SDK and the sandbox process, on the same cores) sets;
- cycle_per_s: the other N through the worker's path end to end: the tick's shards (``plan_shards``), each
  shard job (``tasks.billing.renew_shard``) generating and then charging its invoices as one batch
  (``app.billing.batch_charger``: payment rows and keys committed, paypal-checkout-serversdk over HTTP ->
  sandbox 20 in flight, outcomes and settlements recorded set-based). ``--per-charge`` charges them one by one
  through the per-charge charger instead (the path before batching). ``--shards-in-flight`` shard jobs run at
  once, as that many arq job slots would, in each of ``--workers`` worker processes (as that many arq workers
  would; more than one lifts the one process's interpreter lock off the synchronous SDK's threads).

The last line is JSON (bench="billing_run", n, generation_per_s, cycle_per_s, baseline_insert_per_s, ...).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PG_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_sandbox(port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.payments.sandbox", "--port", str(port)], cwd=ROOT, stdout=out, stderr=out
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/_control/faults", timeout=1)
            return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"sandbox did not start:\n{log.read_text()}")


def configure(db_url: str, sandbox_url: str, var_dir: str) -> None:
    """The environment Recurra reads, set before anything imports it (Piccolo binds its engine once)."""
    os.environ.update(
        {
            "RECURRA_ENV": "development",
            "DATABASE_URL": db_url,
            "VAR_DIR": var_dir,
            "PAYPAL_MODE": "sandbox",
            "PAYPAL_CLIENT_ID": "recurra-sandbox",
            "PAYPAL_CLIENT_SECRET": "recurra-sandbox-secret",
            "PAYPAL_API_URL": sandbox_url,
            "LOG_LEVEL": "WARNING",
        }
    )
    for name in ("REDIS_URL", "SMTP_URL"):
        os.environ.pop(name, None)


async def admin(sql: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def seed(connection: asyncpg.Connection, n: int, tokens: list[str]) -> tuple[int, int]:
    """2N customers, each with a saved method and a monthly subscription due an hour ago; returns the plan."""
    await connection.execute(
        "INSERT INTO product (name, slug) VALUES ('Bench', 'bench');"
        "INSERT INTO plan (product, code, name, amount_minor, currency, interval) "
        "VALUES (1, 'bench-monthly', 'Bench monthly', 1299, 'USD', 'month')"
    )
    await connection.execute(
        "INSERT INTO customer (email, password_hash, name, country) "
        "SELECT 'bench' || g || '@example.com', 'x', 'Bench customer ' || g, 'US' FROM generate_series(1, $1) g",
        2 * n,
    )
    await connection.execute(
        "INSERT INTO payment_method (customer, vault_token, label, is_default) "
        "SELECT t.n, t.token, 'PayPal b***@example.com', true FROM unnest($1::text[]) WITH ORDINALITY t(token, n)",
        tokens,
    )
    # The period that ended an hour ago, by the billing code's own maths and clock (not SQL's now() and
    # intervals, which clamp month ends differently).
    from app import clock
    from app.billing.periods import Interval, boundary

    due = clock.now() - timedelta(hours=1)
    await connection.execute(
        "INSERT INTO subscription (customer, plan, status, payment_method, current_period_start, "
        "current_period_end, billing_anchor) SELECT c.id, 1, 'active', c.id, $1, $2, $2 FROM customer c ORDER BY c.id",
        boundary(due, Interval.of("month"), -1),
        due,
    )
    return 1, n


async def vault_tokens(sandbox_url: str, count: int) -> list[str]:
    async with httpx.AsyncClient(base_url=sandbox_url, timeout=120) as http:
        response = await http.post(
            "/_control/vault/payment-tokens", json={"payer_email": "bench@example.com", "count": count}
        )
        response.raise_for_status()
        return list(response.json()["ids"])


async def baseline_insert(n: int) -> float:
    """N invoice rows in one bulk INSERT (chunked only by the driver's parameter limit), in one transaction."""
    from app.db import insert_many, write_transaction
    from tables.billing import Invoice

    columns = ("customer", "number", "status", "billing_reason", "currency", "total_minor", "customer_snapshot")
    rows = [(i + 1, f"BASE-{i:07d}", "open", "subscription_cycle", "USD", 1299, "{}") for i in range(n)]
    started = time.perf_counter()
    async with write_transaction():
        await insert_many(Invoice, columns, rows)
    elapsed = time.perf_counter() - started
    await Invoice.delete().where(Invoice.number.like("BASE-%"))
    return elapsed


async def generation_alone(n: int) -> float:
    from app.billing.renewals import generate_renewals

    started = time.perf_counter()
    result = await generate_renewals(first_id=1, last_id=n)
    elapsed = time.perf_counter() - started
    assert result.renewed == n, result.renewed
    return elapsed


def shard_context(per_charge: bool) -> dict[str, Any]:
    """What a worker process's job context carries for ``renew_shard``: settings and the chargers."""
    from app.payments.service import gateway_for
    from app.settings import get_settings
    from tasks.worker import chargers

    settings = get_settings()
    ctx = {"settings": settings, **chargers(gateway_for(settings), settings.billing)}
    if per_charge:
        ctx["charge_batch"] = None
    return ctx


TOTALS = ("renewed", "invoices", "charged", "charge_errors")


async def run_shards(ctx: dict[str, Any], shards: list[tuple[int, int]], shards_in_flight: int) -> dict[str, int]:
    """Shard jobs (``tasks.billing.renew_shard``), ``shards_in_flight`` at a time, as arq's job slots run them."""
    from tasks.billing import renew_shard

    gate = asyncio.Semaphore(shards_in_flight)
    totals = dict.fromkeys(TOTALS, 0)

    async def job(first_id: int, last_id: int) -> None:
        async with gate:
            summary = await renew_shard(ctx, first_id, last_id)
        for key in totals:
            totals[key] += summary[key]

    await asyncio.gather(*(job(first, last) for first, last in shards))
    return totals


def worker_process(inbox: Any, outbox: Any, shards_in_flight: int, per_charge: bool) -> None:
    """A worker process of its own (as a second arq worker would be): it starts, says so, waits for its shards,
    runs them and reports its totals."""

    async def main() -> None:
        from app.db import close_database, open_database

        await open_database()
        try:
            ctx = shard_context(per_charge)
            outbox.put("ready")
            shards = await asyncio.to_thread(inbox.get)
            outbox.put(await run_shards(ctx, shards, shards_in_flight))
        finally:
            await close_database()

    asyncio.run(main())


async def full_cycle(n: int, shards_in_flight: int, per_charge: bool, workers: int) -> tuple[float, dict[str, Any]]:
    """The worker's path for subscriptions N+1..2N: plan the shards, run the shard jobs (generate, commit, charge
    with the charger), ``shards_in_flight`` at a time in each of ``workers`` worker processes (started, and
    ready, before the clock starts; the shards dealt out in turn)."""
    from app.billing.fanout import plan_shards

    if workers == 1:
        ctx = shard_context(per_charge)
        started = time.perf_counter()
        shards = await plan_shards()
        totals: dict[str, Any] = await run_shards(ctx, [(s.first_id, s.last_id) for s in shards], shards_in_flight)
        elapsed = time.perf_counter() - started
    else:
        import multiprocessing

        spawn = multiprocessing.get_context("spawn")
        results = spawn.Queue()
        inboxes = [spawn.Queue() for _ in range(workers)]
        processes = [
            spawn.Process(target=worker_process, args=(inbox, results, shards_in_flight, per_charge))
            for inbox in inboxes
        ]
        for process in processes:
            process.start()
        for _ in processes:
            assert await asyncio.to_thread(results.get, True, 120) == "ready"
        started = time.perf_counter()
        shards = await plan_shards()
        for index, inbox in enumerate(inboxes):
            inbox.put([(s.first_id, s.last_id) for s in shards[index::workers]])
        reports = [await asyncio.to_thread(results.get, True, 600) for _ in processes]
        elapsed = time.perf_counter() - started
        for process in processes:
            process.join(30)
        totals = {key: sum(report[key] for report in reports) for key in TOTALS}
    totals["shards"] = len(shards)
    return elapsed, totals


async def gateway_alone(sandbox_url: str, count: int, concurrency: int) -> float:
    """The ceiling the gateway sets: ``count`` merchant-initiated charges straight through the adapter (SDK ->
    sandbox), ``concurrency`` in flight, with no bookkeeping at all. Returns the seconds taken."""
    from app.money import Money
    from app.payments.service import gateway_for
    from app.settings import get_settings

    gateway = gateway_for(get_settings())
    tokens = await vault_tokens(sandbox_url, count)
    gate = asyncio.Semaphore(concurrency)

    async def one(index: int, token: str) -> None:
        async with gate:
            key = f"bench-gateway-{index}-{uuid.uuid4().hex[:8]}"
            await gateway.charge_vaulted(
                vault_token=token, amount=Money(1299, "USD"), description="bench", reference=key, request_id=key
            )

    started = time.perf_counter()
    await asyncio.gather(*(one(i, t) for i, t in enumerate(tokens)))
    return time.perf_counter() - started


async def check(sandbox_url: str, n: int) -> dict[str, int]:
    """Nothing charged twice, every cycle invoice paid: from the database and from the sandbox's ledger."""
    from tables.billing import Invoice
    from tables.payments import Payment

    async with httpx.AsyncClient(base_url=sandbox_url, timeout=120) as http:
        captures = (await http.get("/_control/ledger")).json()["captures"]
    paid = await Invoice.count().where((Invoice.status == "paid") & (Invoice.subscription > n))
    payments = await Payment.count().where(Payment.status == "succeeded")
    return {"captures": len(captures), "paid_invoices": paid, "succeeded_payments": payments}


async def run(
    n: int, shards_in_flight: int, per_charge: bool, workers: int, sandbox_url: str, db_url: str
) -> dict[str, Any]:
    from app.db import close_database, migrate, open_database

    await migrate()
    await open_database()
    try:
        connection = await asyncpg.connect(db_url)
        try:
            await seed(connection, n, await vault_tokens(sandbox_url, 2 * n))
            await connection.execute("ANALYZE")
        finally:
            await connection.close()
        baseline_s = await baseline_insert(n)
        generation_s = await generation_alone(n)
        cycle_s, totals = await full_cycle(n, shards_in_flight, per_charge, workers)
        checked = await check(sandbox_url, n)
        sample = max(1, n // 10)
        gateway_s = await gateway_alone(sandbox_url, sample, DEFAULT_CONCURRENCY)
    finally:
        await close_database()
    return {
        "bench": "billing_run",
        "n": n,
        "generation_per_s": round(n / generation_s),
        "cycle_per_s": round(n / cycle_s),
        "baseline_insert_per_s": round(n / baseline_s),
        "gateway_only_per_s": round(sample / gateway_s),
        "generation_s": round(generation_s, 2),
        "cycle_s": round(cycle_s, 2),
        "baseline_insert_s": round(baseline_s, 2),
        "shards_in_flight": shards_in_flight,
        "workers": workers,
        "charging": "per_charge" if per_charge else "batch",
        **totals,
        **checked,
        "cpus": os.cpu_count(),
    }


DEFAULT_CONCURRENCY = 20  # app.billing.charging's charges in flight per shard job


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20_000, help="renewals per measured step (2N are seeded)")
    parser.add_argument("--shards-in-flight", type=int, default=4, help="shard jobs running at once per worker")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="worker processes running the cycle (default: one a core)",
    )
    parser.add_argument(
        "--per-charge", action="store_true", help="charge shards one invoice at a time (the path before batching)"
    )
    args = parser.parse_args()

    database = f"recurra_bench_{uuid.uuid4().hex[:8]}"
    db_url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + database
    port = free_port()
    sandbox_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="recurra-bench-") as var_dir:
        sandbox = start_sandbox(port, Path(var_dir) / "sandbox.log")
        asyncio.run(admin(f'CREATE DATABASE "{database}"'))
        try:
            configure(db_url, sandbox_url, var_dir)
            result = asyncio.run(run(args.n, args.shards_in_flight, args.per_charge, args.workers, sandbox_url, db_url))
        finally:
            sandbox.terminate()
            sandbox.wait(timeout=15)
            asyncio.run(admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    print(
        f"n={result['n']}: generation {result['generation_per_s']}/s, full cycle {result['cycle_per_s']}/s, "
        f"baseline bulk insert {result['baseline_insert_per_s']}/s, gateway alone {result['gateway_only_per_s']}/s; "
        f"captures {result['captures']}, "
        f"paid {result['paid_invoices']}"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
