"""Partner API keys: issued in the admin (shown once, stored as a hash), then /api/v1 authenticates them,
checks their scopes per route, honours revocation and expiry on the next request, and rate limits per key."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta

import httpx
from litestar import Litestar

from app import clock
from app.main import create_app
from app.partners.service import hash_key, issue_api_key
from app.settings import Settings
from tables.audit import AuditLog
from tables.partners import ApiKey, Partner
from tests import factories
from tests.integration.conftest import asgi_client
from tests.integration.staff import staff_session, table

KEY_PATTERN = re.compile(r"rk_[a-z0-9]{8}_[A-Za-z0-9_-]{43}")
PROBLEM = "application/problem+json"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _key(*scopes: str, **overrides: object) -> str:
    partner = await factories.partner(name="Acme")
    issued = await issue_api_key(partner.id, name="test", scopes=scopes or ("customers:read",), **overrides)  # type: ignore[arg-type]
    return issued.key


async def test_staff_issue_a_key_that_is_shown_once_and_stored_as_a_hash(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    partner = await factories.partner(name="Acme CRM")
    async with staff_session(app, "superuser") as root:
        form = {"partner_id": partner.id, "name": "sync", "scopes": "customers:read subscriptions:write"}
        response = await root.post("/admin/api/forms/issue-api-key/", json=form)
        assert response.status_code == 200, response.text
        message = response.json()["custom_form_success"]
        match = KEY_PATTERN.search(message)
        assert match, message
        key = match.group(0)
        listed = await root.get(table("api_key"))
        assert key not in listed.text
        assert hash_key(key) not in listed.text  # secret=True: piccolo_api leaves the column out (null)

    row = await ApiKey.select().where(ApiKey.partner == partner.id).first()
    assert row is not None
    assert row["prefix"] == key[:11]
    assert row["key_hash"] == hash_key(key)
    assert key not in str(row)
    assert key not in str(await AuditLog.select())
    issued = await AuditLog.select(AuditLog.action, AuditLog.target_id).where(
        AuditLog.action == "partner.api_key_issued"
    )
    assert issued == [{"action": "partner.api_key_issued", "target_id": str(row["id"])}]

    me = await client.get("/api/v1/me", headers=bearer(key))
    assert me.status_code == 200, me.text
    assert me.json()["partner"] == {"id": partner.id, "name": "Acme CRM"}
    assert me.json()["scopes"] == ["customers:read", "subscriptions:write"]
    assert me.json()["api_key"]["prefix"] == key[:11]


async def test_only_superusers_issue_keys_and_only_known_scopes(app: Litestar, client: httpx.AsyncClient) -> None:
    partner = await factories.partner()
    form = {"partner_id": partner.id, "scopes": "customers:read"}
    for role in ("support", "billing", "content"):
        async with staff_session(app, role) as staff:
            assert (await staff.post("/admin/api/forms/issue-api-key/", json=form)).status_code == 403
            assert (await staff.post(table("api_key"), json={"prefix": "rk_x", "key_hash": "x"})).status_code == 403
    async with staff_session(app, "superuser") as root:
        unknown = await root.post("/admin/api/forms/issue-api-key/", json={**form, "scopes": "customers:delete"})
        assert unknown.status_code == 422
        assert "unknown scope" in unknown.json()["custom_form_error"]
        # Keys are only made by the form, which shows the key once; the table endpoint refuses.
        assert (await root.post(table("api_key"), json={"prefix": "rk_x", "key_hash": "x"})).status_code == 403
    assert await ApiKey.count() == 0


async def test_missing_malformed_and_unknown_keys_get_401(client: httpx.AsyncClient) -> None:
    await _key()  # a real key exists, just not the ones sent below
    cases = {
        "missing_api_key": {},
        "invalid_api_key": {"Authorization": "Basic dXNlcjpwYXNz"},
    }
    for code, headers in cases.items():
        response = await client.get("/api/v1/me", headers=headers)
        assert response.status_code == 401
        assert response.json()["code"] == code
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.headers["content-type"].startswith(PROBLEM)
    for key in ("nonsense", "rk_short", "rk_abcdefgh_" + "x" * 43):
        response = await client.get("/api/v1/me", headers=bearer(key))
        assert response.status_code == 401, key
        assert response.json()["code"] == "invalid_api_key"
        assert 'error="invalid_token"' in response.headers["www-authenticate"]


async def test_a_key_with_the_right_secret_prefix_but_wrong_rest_is_refused(client: httpx.AsyncClient) -> None:
    key = await _key()
    forged = key[:12] + ("A" if key[12] != "A" else "B") + key[13:]
    response = await client.get("/api/v1/me", headers=bearer(forged))
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_api_key"


async def test_revocation_in_the_admin_takes_effect_on_the_next_request(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    key = await _key()
    assert (await client.get("/api/v1/me", headers=bearer(key))).status_code == 200
    async with staff_session(app, "superuser") as root:
        revoked = await root.post("/admin/api/forms/revoke-api-key/", json={"prefix": key[:11]})
        assert revoked.status_code == 200, revoked.text
    response = await client.get("/api/v1/me", headers=bearer(key))
    assert response.status_code == 401
    assert response.json()["code"] == "api_key_revoked"
    assert await AuditLog.exists().where(AuditLog.action == "partner.api_key_revoked")


async def test_revoking_by_editing_the_key_row_and_protected_fields(app: Litestar, client: httpx.AsyncClient) -> None:
    key = await _key()
    row = await ApiKey.select(ApiKey.id).first()
    assert row is not None
    async with staff_session(app, "superuser") as root:
        forged = await root.patch(table("api_key", row["id"]), json={"scopes": "customers:read customers:write"})
        assert forged.status_code == 403
        revoked = await root.patch(table("api_key", row["id"]), json={"revoked_at": clock.now().isoformat()})
        assert revoked.status_code == 200, revoked.text
    assert (await client.get("/api/v1/me", headers=bearer(key))).json()["code"] == "api_key_revoked"


async def test_expired_keys_get_401(client: httpx.AsyncClient) -> None:
    key = await _key(expires_at=clock.now() + timedelta(days=1))
    assert (await client.get("/api/v1/me", headers=bearer(key))).status_code == 200
    await ApiKey.update({ApiKey.expires_at: clock.now() - timedelta(seconds=1)}, force=True)
    response = await client.get("/api/v1/me", headers=bearer(key))
    assert response.status_code == 401
    assert response.json()["code"] == "api_key_expired"


async def test_inactive_partners_keys_get_401(client: httpx.AsyncClient) -> None:
    key = await _key()
    await Partner.update({Partner.active: False}, force=True)
    response = await client.get("/api/v1/me", headers=bearer(key))
    assert response.status_code == 401
    assert response.json()["code"] == "partner_inactive"


async def test_routes_check_scopes(client: httpx.AsyncClient) -> None:
    await factories.plan(name="Public plan", public=True)
    await factories.plan(name="Hidden plan", public=False)
    without = await _key("customers:read")
    refused = await client.get("/api/v1/plans", headers=bearer(without))
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith(PROBLEM)
    assert refused.json()["code"] == "insufficient_scope"
    assert refused.json()["missing_scopes"] == ["plans:read"]
    assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]

    with_scope = await _key("plans:read")
    listed = await client.get("/api/v1/plans", headers=bearer(with_scope))
    assert listed.status_code == 200, listed.text
    assert [p["name"] for p in listed.json()] == ["Public plan"]


async def test_each_key_is_rate_limited_with_retry_after(settings: Settings, client: httpx.AsyncClient) -> None:
    limited_app = create_app(dataclasses.replace(settings, partner_api_rate_limit=2))
    first, second = await _key(), await _key()
    async with asgi_client(limited_app) as http:
        with clock.frozen_at(clock.now()):  # one limiter window, however long a loaded machine takes
            assert [(await http.get("/api/v1/me", headers=bearer(first))).status_code for _ in range(2)] == [200, 200]
            refused = await http.get("/api/v1/me", headers=bearer(first))
        assert refused.status_code == 429
        assert refused.headers["content-type"].startswith(PROBLEM)
        assert refused.json()["code"] == "rate_limited"
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert (await http.get("/api/v1/me", headers=bearer(second))).status_code == 200  # its own window
    await limited_app.state.redis.aclose()


async def test_bad_keys_are_audited_and_limited_per_address(client: httpx.AsyncClient) -> None:
    with clock.frozen_at(clock.now()):  # all 31 in one limiter window, however long a loaded machine takes
        for n in range(30):
            response = await client.get("/api/v1/me", headers=bearer(f"rk_nope{n:04d}_" + "x" * 43))
            assert response.status_code == 401
        limited = await client.get("/api/v1/me", headers=bearer("rk_nope9999_" + "x" * 43))
    entries = await AuditLog.objects().where(AuditLog.action == "partner.auth_failed")
    assert len(entries) == 30
    assert all("x" * 43 not in e.actor_label for e in entries)  # never the secret part of a presented key
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert await AuditLog.count().where(AuditLog.action == "partner.auth_failed") == 30
