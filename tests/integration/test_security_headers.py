"""Security headers on every response (portal, API, admin, static, 404) and trusted-proxy handling."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from app.main import create_app
from app.settings import Settings
from tables.audit import AuditLog
from tests.integration.conftest import asgi_client
from tests.portal import csrf_token

PATHS = ["/", "/login", "/health/live", "/api/v1/nothing", "/admin/", "/static/app.css", "/no-such-page"]


@pytest.mark.parametrize("path", PATHS)
async def test_every_response_carries_the_security_headers(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    headers = response.headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert headers["x-frame-options"] == "DENY"
    csp = headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert "strict-transport-security" not in headers  # plain http in tests


async def test_https_deployments_send_hsts_and_secure_cookies(settings: Settings) -> None:
    secure = replace(settings, base_url="https://subs.example.com")
    app = create_app(secure)
    # No lifespan here: it would open (and close) the database pool the session's app shares.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://subs.example.com") as c:
        response = await c.get("/login")
        assert response.headers["strict-transport-security"].startswith("max-age=")
        assert "Secure" in response.headers["set-cookie"]


async def _failed_login_ip(client: httpx.AsyncClient, forwarded_for: str) -> str:
    await AuditLog.delete(force=True)
    headers = {"X-Forwarded-For": forwarded_for}
    page = await client.get("/login", headers=headers)
    wrong = {"_csrf_token": csrf_token(page.text), "email": "x@example.com", "password": "wrong wrong wrong"}
    assert (await client.post("/login", data=wrong, headers=headers)).status_code == 400
    entry = await AuditLog.objects().where(AuditLog.action == "customer.login_failed").first()
    assert entry is not None
    return entry.ip


async def test_forwarded_headers_count_only_from_trusted_proxies(client: httpx.AsyncClient, settings: Settings) -> None:
    # The test client connects from 127.0.0.1, which is no trusted proxy by default: the header is ignored.
    assert await _failed_login_ip(client, "203.0.113.9") == "127.0.0.1"
    behind_proxy = create_app(replace(settings, trusted_proxies=("127.0.0.0/8",)))
    async with asgi_client(behind_proxy) as proxied:
        # The right-most hop that is not a trusted proxy is the client.
        assert await _failed_login_ip(proxied, "203.0.113.9, 198.51.100.7, 127.0.0.2") == "198.51.100.7"
