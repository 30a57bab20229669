"""Staff sessions for admin API tests: a real staff user, logged in through piccolo-admin's JSON log-in,
each with its own HTTP client (cookie jar) on the running app.

piccolo-admin limits log-ins to 20 per 5 minutes per client address, in process; the session-wide app would
hit that over the suite, so each client here comes from an address of its own, as separate people would.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from litestar import Litestar

from app.accounts.staff import create_staff
from tests.integration.conftest import BASE_URL
from tests.integration.test_admin import PASSWORD, admin_login

_addresses = (f"10.9.{n // 250}.{n % 250 + 1}" for n in itertools.count())


def staff_client(app: Litestar) -> httpx.AsyncClient:
    """A client on ``app`` (whose lifespan the ``client`` fixture runs) from a fresh IP address."""
    transport = httpx.ASGITransport(app=app, client=(next(_addresses), 50000))
    return httpx.AsyncClient(transport=transport, base_url=BASE_URL)


@asynccontextmanager
async def staff_session(app: Litestar, role: str, username: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """A client logged in to /admin/ as a new staff member with ``role``; it sends piccolo-admin's CSRF
    header on every request, so writes reach the permission checks."""
    username = username or f"{role}-staff"
    await create_staff(username, f"{username}@example.com", PASSWORD, role)
    async with staff_client(app) as http:
        login = await admin_login(http, username, PASSWORD)
        assert login.status_code == 200, login.text
        http.headers["X-CSRFToken"] = http.cookies["csrftoken"]
        yield http


def table(name: str, row_id: int | None = None) -> str:
    return f"/admin/api/tables/{name}/" + (f"{row_id}/" if row_id is not None else "")
