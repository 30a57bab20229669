"""The staff area's tests: staff signed in through /staff/login (one log-in with /admin/), each in a client of
their own from an address of their own; forms posted the way a browser (or htmx) posts them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import pytest
from litestar import Litestar
from piccolo.apps.user.tables import BaseUser

from app.accounts.staff import create_staff
from tests.integration.staff import staff_client
from tests.integration.support.conftest import ada, agent, desk, job_ctx  # noqa: F401 - fixtures
from tests.portal import PASSWORD, csrf_token

ConsoleSession = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


async def staff_login(
    http: httpx.AsyncClient, username: str, password: str = PASSWORD, *, code: str = "", next_: str = ""
) -> httpx.Response:
    page = await http.get("/staff/login", params={"next": next_} if next_ else None)
    data = {"_csrf_token": csrf_token(page.text), "username": username, "password": password, "code": code,
            "next": next_}  # fmt: skip
    return await http.post("/staff/login", data=data)


async def post_form(
    http: httpx.AsyncClient, page: str, action: str, data: dict[str, str] | None = None, *, htmx: bool = False
) -> httpx.Response:
    """GET ``page`` for its CSRF token, then POST ``data`` to ``action`` as its form (or as htmx sends it)."""
    token = csrf_token((await http.get(page)).text)
    if htmx:
        return await http.post(action, data=data or {}, headers={"HX-Request": "true", "x-csrftoken": token})
    return await http.post(action, data={"_csrf_token": token, **(data or {})})


@pytest.fixture
def console(app: Litestar, client: httpx.AsyncClient) -> ConsoleSession:
    """``async with console(role, username) as http``: a new staff member with ``role``, signed in at /staff/."""

    @asynccontextmanager
    async def session(role: str, username: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
        name = username or f"{role}-staff"
        if not await BaseUser.exists().where(BaseUser.username == name):
            await create_staff(name, f"{name}@example.com", PASSWORD, role)
        async with staff_client(app) as http:
            signed = await staff_login(http, name)
            assert signed.status_code == 303, signed.text
            yield http

    return session
