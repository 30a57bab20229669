"""The portal's server-side session carries flash messages only: a visitor without one costs no stored row and
no cookie, and a session that empties is deleted."""

from __future__ import annotations

import httpx
from litestar import Litestar

from app.settings import Settings
from tests.integration.content.helpers import customer_logged_in
from tests.portal import submit


async def _session_rows(app: Litestar, settings: Settings) -> list[bytes]:
    return [key async for key in app.state.redis.scan_iter(match=f"{settings.redis.prefix}:sessions:*")]


async def test_anonymous_pages_store_no_session(app: Litestar, settings: Settings, client: httpx.AsyncClient) -> None:
    for path in ("/", "/catalog", "/login", "/register", "/no-such-page"):
        response = await client.get(path)
        assert "recurra_session" not in response.headers.get("set-cookie", ""), path
    assert await _session_rows(app, settings) == []


async def test_a_flash_lives_in_the_session_until_it_is_shown(
    app: Litestar, settings: Settings, client: httpx.AsyncClient
) -> None:
    await customer_logged_in(client)
    await submit(client, "/catalog", "/catalog/digest", {"enabled": "1"})
    assert len(await _session_rows(app, settings)) == 1
    shown = await client.get("/catalog")
    assert "weekly e-mail" in shown.text
    assert "recurra_session=null" in shown.headers.get("set-cookie", "")  # the browser drops it
    assert await _session_rows(app, settings) == []
