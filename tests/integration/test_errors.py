"""Errors: RFC 9457 problem+json under /api/, friendly pages in the portal, the same request id in both."""

from __future__ import annotations

import httpx
from litestar import Litestar, get

from app.errors import Conflict
from app.main import create_app
from app.settings import load_settings
from tests.integration.conftest import asgi_client


async def test_api_404_is_problem_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == 404
    assert body["code"] == "not_found"
    assert body["title"] == "Not Found"
    assert body["type"] == "urn:recurra:problem:not_found"
    assert body["instance"] == "/api/v1/no-such-thing"
    assert body["request_id"] == response.headers["x-request-id"]


async def test_api_405_is_problem_json(client: httpx.AsyncClient) -> None:
    response = await client.delete("/health/live")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


async def test_portal_404_is_a_friendly_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/no-such-page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "We can't find that page" in response.text
    assert 'href="/"' in response.text


def _app_with_failing_routes() -> Litestar:
    app = create_app(load_settings())

    @get("/api/v1/boom", sync_to_thread=False)
    def api_boom() -> None:
        raise RuntimeError("secret internals")

    @get("/boom", sync_to_thread=False)
    def page_boom() -> None:
        raise RuntimeError("secret internals")

    @get("/api/v1/conflict", sync_to_thread=False)
    def api_conflict() -> None:
        raise Conflict("That subscription changed meanwhile.", code="subscription_changed")

    for handler in (api_boom, page_boom, api_conflict):
        app.register(handler)
    return app


async def test_unexpected_errors_hide_internals() -> None:
    async with asgi_client(_app_with_failing_routes()) as client:
        api = await client.get("/api/v1/boom")
        assert api.status_code == 500
        assert api.json()["code"] == "internal_error"
        assert "secret internals" not in api.text
        page = await client.get("/boom")
        assert page.status_code == 500
        assert page.headers["content-type"].startswith("text/html")
        assert "Something went wrong" in page.text
        assert "secret internals" not in page.text


async def test_domain_errors_keep_their_code_and_status() -> None:
    async with asgi_client(_app_with_failing_routes()) as client:
        response = await client.get("/api/v1/conflict")
        assert response.status_code == 409
        assert response.json()["code"] == "subscription_changed"
        assert response.json()["detail"] == "That subscription changed meanwhile."
