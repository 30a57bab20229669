"""piccolo-admin mounted at /admin/: staff log in with their own users and see every table staff need."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
from piccolo.apps.user.tables import BaseUser

from app.accounts.staff import create_staff
from tables.accounts import StaffRole

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"


async def admin_login(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    await client.get("/admin/")
    token = client.cookies.get("csrftoken")
    assert token, "piccolo-admin sets its CSRF cookie on the first page"
    return await client.post(
        "/admin/public/login/",
        json={"username": username, "password": password},
        headers={"X-CSRFToken": token},
    )


async def test_admin_without_slash_redirects(client: httpx.AsyncClient) -> None:
    response = await client.get("/admin", follow_redirects=False)
    assert response.status_code == 308
    assert response.headers["location"] == "/admin/"


async def test_admin_page_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/admin/")
    assert response.status_code == 200
    assert "<html" in response.text.lower()


async def test_staff_log_in_and_see_the_tables(client: httpx.AsyncClient) -> None:
    await create_staff("root", "root@example.com", PASSWORD)
    client.cookies.clear()
    assert (await client.get("/admin/api/tables/")).status_code == 401
    login = await admin_login(client, "root", PASSWORD)
    assert login.status_code == 200, login.text
    tables = (await client.get("/admin/api/tables/")).json()
    for needed in ("customer", "plan", "product", "content_item", "subscription", "invoice", "payment",
                   "ticket", "knowledge_base_article", "partner", "api_key", "audit_log"):  # fmt: skip
        assert needed in tables
    for secret in ("auth_token", "recovery_code", "idempotency_record"):
        assert secret not in tables
    client.cookies.clear()


async def test_wrong_password_is_refused(client: httpx.AsyncClient) -> None:
    await create_staff("root", "root@example.com", PASSWORD)
    client.cookies.clear()
    login = await admin_login(client, "root", "not the password at all")
    assert login.status_code in {401, 403}
    assert (await client.get("/admin/api/tables/")).status_code == 401
    client.cookies.clear()


async def test_create_staff_command() -> None:
    env = {**os.environ, "STAFF_PASSWORD": PASSWORD}
    command = [sys.executable, "-m", "app", "create-staff", "--username", "ops", "--email", "ops@example.com",
               "--role", "billing"]  # fmt: skip
    created = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert created.returncode == 0, created.stderr
    user = await BaseUser.objects().get(BaseUser.username == "ops")
    assert user is not None
    assert user.admin
    assert not user.superuser
    assert await StaffRole.exists().where((StaffRole.user == user.id) & (StaffRole.role == "billing"))
    assert (await BaseUser.login("ops", PASSWORD)) == user.id
    again = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert again.returncode != 0
    assert "exists already" in again.stderr
    weak = subprocess.run([*command[:5], "ops2", *command[6:]], cwd=ROOT, env={**env, "STAFF_PASSWORD": "short"},
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert weak.returncode != 0
    assert "12 characters" in weak.stderr
