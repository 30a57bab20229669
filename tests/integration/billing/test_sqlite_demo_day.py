"""The demo (`make run`: SQLite, no Redis, jobs in process, the embedded sandbox) through a day of billing on a
test clock while visitors use the portal: staff advance the clock hour by hour in the admin (renewals and their
charges, trials ending paid or declined, a cancellation at the period end, an abandoned checkout lapsing, a
reminder), the demo's own cron and outbox dispatcher run beside them, and every answer and the whole log stay
clean: no 500, no traceback, no "database is locked" (writers take turns on SQLite's one write lock; readers
never wait, WAL)."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.integration.billing.sqlite_day_driver import RENEWING
from tests.portal import register
from tests.servers import ROOT, live_server, server_env

ADVANCE = "/admin/api/forms/advance-a-test-clock/"
PAGES = ("/", "/catalog", "/account", "/account/subscriptions", "/account/invoices", "/account/billing")
TROUBLE = re.compile(r"Traceback|ERROR|CRITICAL|database is locked|retry", re.IGNORECASE)


def driver(step: str, env: dict[str, str]) -> dict[str, Any]:
    run = subprocess.run(
        [sys.executable, "-m", "tests.integration.billing.sqlite_day_driver", step],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


async def visitor(url: str, n: int, stop: asyncio.Event) -> int:
    """Signs up (a write), then reads the portal's pages until the day is over; returns the pages read."""
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        assert (await register(http, email=f"visitor{n}@example.com")).status_code == 303
        read = 0
        while not stop.is_set():
            for path in PAGES:
                page = await http.get(path)
                assert page.status_code == 200, (path, page.status_code, page.text[:500])
                read += 1
        return read


async def staff_advance_the_day(url: str, password: str, clock_id: int, start: datetime) -> list[str]:
    async with httpx.AsyncClient(base_url=url, timeout=120) as http:
        await http.get("/admin/")
        login = await http.post(
            "/admin/public/login/",
            json={"username": "admin", "password": password},
            headers={"X-CSRFToken": http.cookies["csrftoken"]},
        )
        assert login.status_code == 200, login.text
        http.headers["X-CSRFToken"] = http.cookies["csrftoken"]
        answers = []
        for hour in range(1, 25):
            to = (start + timedelta(hours=hour)).isoformat()
            answer = await http.post(ADVANCE, json={"test_clock_id": clock_id, "to": to})
            assert answer.status_code == 200, (to, answer.status_code, answer.text)
            answers.append(answer.text)
        return answers


async def a_day(url: str, password: str, plan: dict[str, Any]) -> tuple[list[str], list[int]]:
    stop = asyncio.Event()
    visitors = [asyncio.create_task(visitor(url, n, stop)) for n in range(3)]
    try:
        answers = await staff_advance_the_day(url, password, plan["clock"], datetime.fromisoformat(plan["start"]))
    finally:
        stop.set()
    return answers, await asyncio.gather(*visitors)


def test_a_day_of_billing_on_the_demo_with_visitors_leaves_a_clean_log(tmp_path: Path) -> None:
    env = server_env(VAR_DIR=str(tmp_path), DATABASE_URL="", REDIS_URL="", RECURRA_ENV="development")
    with live_server([sys.executable, "-m", "app", "run"], env, tmp_path / "run.log") as server:
        printed = re.search(r"user 'admin', password '([^']+)'", server.log())
        assert printed, server.log()
        plan = driver("setup", env)
        answers, pages = asyncio.run(a_day(server.url, printed.group(1), plan))
        report = driver("report", env)
        server.process.send_signal(signal.SIGINT)
        assert server.process.wait(timeout=30) == 0
    log = server.log()
    assert not TROUBLE.search(log), log[-5000:]
    assert all(pages), pages  # every visitor read pages the whole day

    status = {int(sub): value for sub, value in report["status"].items()}
    assert [status[sub] for sub in plan["renewing"]] == ["active"] * RENEWING
    assert status[plan["paid_trial"]] == "active"  # the trial's first invoice paid
    assert status[plan["declined_trial"]] == "past_due"  # never active unpaid: dunning has begun
    assert status[plan["leaving"]] == "canceled"
    assert status[plan["abandoned"]] == "incomplete_expired"  # 23 hours after the checkout was left
    renewals = {sub: state for sub, reason, state in report["invoices"] if reason == "subscription_cycle"}
    assert [renewals[sub] for sub in [*plan["renewing"], plan["paid_trial"]]] == ["paid"] * (RENEWING + 1)
    assert renewals[plan["declined_trial"]] == "open"
    assert len(renewals) == RENEWING + 2  # nothing for the cancellation, nothing billed twice
    assert [plan["abandoned"], "subscription_create", "void"] in report["invoices"]
    assert report["payments"].count("succeeded") == RENEWING + 1
    assert [plan["reminded"], "renewal"] in report["notices"]
    # Who ran each step is not fixed: the demo's own cron ticks every minute and takes whatever is due at the
    # clock's time as readily as the advance does. That every step ran once is what the rows above show.
    assert all(f"Test clock #{plan['clock']} is at" in answer for answer in answers), answers
