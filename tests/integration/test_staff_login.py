"""Staff log-ins to the admin are audited and limited per address and per username (shared limiter)."""

from __future__ import annotations

import httpx
from litestar import Litestar

from app import clock
from app.accounts.staff import create_staff
from tables.audit import AuditLog
from tests.integration.staff import staff_client
from tests.integration.test_admin import PASSWORD, admin_login


async def test_staff_log_ins_are_audited(client: httpx.AsyncClient, app: Litestar) -> None:
    await create_staff("ops", "ops@example.com", PASSWORD)
    async with staff_client(app) as http:
        assert (await admin_login(http, "ops", "not the password")).status_code == 401
        assert (await admin_login(http, "ops", PASSWORD)).status_code == 200
    failed = await AuditLog.objects().get(AuditLog.action == "staff.login_failed")
    succeeded = await AuditLog.objects().get(AuditLog.action == "staff.logged_in")
    assert failed is not None and failed.actor_label == "ops" and failed.ip.startswith("10.9.")
    assert succeeded is not None and succeeded.actor.startswith("staff:")


async def test_failures_lock_a_staff_username_from_any_address(client: httpx.AsyncClient, app: Litestar) -> None:
    await create_staff("ops", "ops@example.com", PASSWORD)
    with clock.frozen_at(clock.now()):  # one limiter window, however long a loaded machine takes
        for _ in range(5):
            async with staff_client(app) as http:  # a new address each time: the per-username limit still counts
                assert (await admin_login(http, "ops", "guess guess guess")).status_code == 401
        async with staff_client(app) as http:
            locked = await admin_login(http, "ops", PASSWORD)
            assert locked.status_code == 429
            assert locked.headers["content-type"].startswith("application/problem+json")
            assert int(locked.headers["retry-after"]) > 0
            assert (await http.get("/admin/api/tables/")).status_code == 401  # not logged in
    assert await AuditLog.exists().where(AuditLog.action == "staff.login_rate_limited")
