from __future__ import annotations

from typing import Any

import httpx
import pytest
from litestar import Litestar


async def test_live(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {}}


async def test_ready_checks_database_and_redis(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


async def test_ready_answers_503_when_redis_is_down(client: httpx.AsyncClient, app: Litestar,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    async def unreachable(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("connection refused")

    monkeypatch.setattr(app.state.redis, "ping", unreachable)
    response = await client.get("/health/ready")
    assert response.status_code == 503
    assert response.json() == {"status": "failing", "checks": {"database": "ok", "redis": "failing"}}


async def test_every_response_carries_a_request_id(client: httpx.AsyncClient) -> None:
    generated = await client.get("/health/live")
    assert len(generated.headers["x-request-id"]) == 32
    kept = await client.get("/health/live", headers={"X-Request-ID": "upstream-id-1234"})
    assert kept.headers["x-request-id"] == "upstream-id-1234"
    unsafe = await client.get("/health/live", headers={"X-Request-ID": "bad id\nwith newline"})
    assert unsafe.headers["x-request-id"] != "bad id\nwith newline"


async def test_openapi_schema_and_browsable_ui(client: httpx.AsyncClient) -> None:
    schema = await client.get("/schema/openapi.json")
    assert schema.status_code == 200
    assert "/health/ready" in schema.json()["paths"]
    assert all(not path.startswith("/admin") and path != "/" for path in schema.json()["paths"])
    swagger = await client.get("/schema/swagger")
    assert swagger.status_code == 200
    assert "swagger" in swagger.text.lower()
