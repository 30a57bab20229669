"""The staff door (/staff/): one log-in with /admin/ (the same session, rate limits, audit and two-factor), the
admin's roles deciding who may open and post to its pages, and the portal's CSRF protection on every form."""

from __future__ import annotations

import httpx
import pyotp
from litestar import Litestar
from piccolo.apps.user.tables import BaseUser
from piccolo_api.mfa.authenticator.tables import AuthenticatorSecret
from piccolo_api.session_auth.tables import SessionsBase

from app.accounts.staff import create_staff
from app.accounts.staff_mfa import mfa_encryption
from app.settings import Settings
from app.support import service
from app.support.service import SupportDesk
from tables.accounts import Customer
from tables.audit import AuditLog
from tables.support import TicketMessage
from tests.integration.console.conftest import ConsoleSession, post_form, staff_login
from tests.integration.staff import staff_client, staff_session
from tests.integration.test_admin import admin_login
from tests.portal import PASSWORD, csrf_token


async def test_without_a_session_every_staff_page_sends_to_the_log_in_and_back(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    for path in ("/staff/support?status=pending", "/staff/support/tickets/1"):
        response = await client.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == "/staff/login?" + str(httpx.QueryParams({"next": path}))
    assert (await client.get("/staff/")).headers["location"] == "/staff/login?next=%2Fstaff"
    htmx = await client.get("/staff/support", headers={"HX-Request": "true"})
    assert htmx.headers["HX-Redirect"].startswith("/staff/login?next=")
    assert (await client.post("/staff/support/tickets/1/assign", data={"assignee": "me"})).status_code == 403  # CSRF

    await create_staff("sam", "sam@example.com", PASSWORD, "support")
    async with staff_client(app) as http:
        signed = await staff_login(http, "sam", next_="/staff/support?status=pending")
        assert signed.status_code == 303
        assert signed.headers["location"] == "/staff/support?status=pending"
        assert (await http.get("/staff/support?status=pending")).status_code == 200
        # Only back to a staff page: never to another site.
        assert (await http.get("/staff/login?next=https://evil.example/")).headers["location"] == "/staff/"
        assert (await http.get("/staff/login?next=//evil.example/")).headers["location"] == "/staff/"


async def test_a_customer_session_opens_no_staff_page(app: Litestar, client: httpx.AsyncClient, ada: Customer) -> None:
    """Ada is logged in to the portal; her session is no staff session, under either cookie."""
    assert (await client.get("/account")).status_code == 200
    assert (await client.get("/staff/support")).status_code == 303
    client.cookies.set("id", client.cookies["recurra_session"])
    refused = await client.get("/staff/support")
    assert refused.status_code == 303 and refused.headers["location"].startswith("/staff/login")
    assert "Support queue" not in refused.text


async def test_one_log_in_for_both_doors(app: Litestar, client: httpx.AsyncClient) -> None:
    await create_staff("sam", "sam@example.com", PASSWORD, "support")
    async with staff_client(app) as http:  # signed in at the admin: the console is open
        assert (await admin_login(http, "sam", PASSWORD)).status_code == 200
        assert (await http.get("/staff/support")).status_code == 200
    async with staff_client(app) as http:  # signed in at the console: the admin is open, with the same session
        signed = await staff_login(http, "sam")
        assert signed.status_code == 303
        set_cookie = signed.headers["set-cookie"]
        assert set_cookie.startswith("id=") and "HttpOnly" in set_cookie and "Path=/" in set_cookie
        assert "samesite=lax" in set_cookie.lower()
        assert (await http.get("/admin/api/user/")).json()["username"] == "sam"
        assert await SessionsBase.count() == 2
        home = await http.get("/staff/")
        logged_out = await http.post("/staff/logout", data={"_csrf_token": csrf_token(home.text)})
        assert logged_out.status_code == 303 and logged_out.headers["location"] == "/staff/login"
        assert (await http.get("/admin/api/user/")).status_code == 401  # both doors closed
        assert (await http.get("/staff/")).status_code == 303
    assert await SessionsBase.count() == 1
    actions = await AuditLog.select(AuditLog.action).where(AuditLog.actor_label == "sam").order_by(AuditLog.id)
    assert [a["action"] for a in actions] == ["staff.logged_in", "staff.logged_in"]


async def test_staff_log_in_has_the_admin_s_audit_and_rate_limits(app: Litestar, client: httpx.AsyncClient) -> None:
    await create_staff("sam", "sam@example.com", PASSWORD, "support")
    for _ in range(5):
        async with staff_client(app) as http:  # a new address each time: the per-username limit counts them all
            wrong = await staff_login(http, "sam", "not the password at all")
            assert wrong.status_code == 401
            assert "The username or password is incorrect." in wrong.text
            assert 'value="sam"' in wrong.text and "not the password" not in wrong.text
    async with staff_client(app) as http:
        locked = await staff_login(http, "sam")
        assert locked.status_code == 429
        assert int(locked.headers["retry-after"]) > 0
        assert "Too many failed log-ins. Try again in" in locked.text
        assert (await http.get("/staff/")).status_code == 303
    failures = await AuditLog.count().where(AuditLog.action == "staff.login_failed", AuditLog.actor_label == "sam")
    assert failures == 5
    assert await AuditLog.exists().where(AuditLog.action == "staff.login_rate_limited")


async def test_staff_log_in_asks_for_the_two_factor_code(
    app: Litestar, settings: Settings, client: httpx.AsyncClient
) -> None:
    async with staff_session(app, "support", username="sam") as admin:
        enrolled = await admin.post("/admin/api/mfa-setup/", json={"action": "register", "password": PASSWORD,
                                                                   "format": "json"})  # fmt: skip
        assert enrolled.status_code == 200, enrolled.text
    user = await BaseUser.objects().get(BaseUser.username == "sam")
    assert user is not None
    stored = await AuthenticatorSecret.objects().get(AuthenticatorSecret.user_id == user.id)
    assert stored is not None
    secret = mfa_encryption(settings).decrypt(stored.secret)
    async with staff_client(app) as http:
        asked = await staff_login(http, "sam")
        assert asked.status_code == 401
        assert "Enter the code from your authenticator app" in asked.text
        assert "required autofocus" in asked.text
        wrong = await staff_login(http, "sam", code="000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
        assert wrong.status_code == 401 and "That code did not work" in wrong.text
        assert (await http.get("/staff/")).status_code == 303
        signed = await staff_login(http, "sam", code=pyotp.TOTP(secret).now())
        assert signed.status_code == 303
        assert (await http.get("/staff/support")).status_code == 200
    actions = await AuditLog.select(AuditLog.action).where(AuditLog.actor == f"staff:{user.id}").order_by(AuditLog.id)
    assert [a["action"] for a in actions][-3:] == ["staff.mfa_enrolled", "staff.mfa_failed", "staff.logged_in"]


async def test_roles_decide_who_works_tickets(
    app: Litestar, client: httpx.AsyncClient, console: ConsoleSession, desk: SupportDesk, ada: Customer
) -> None:
    ticket_id = await service.open_ticket(desk, ada, subject="Receipt", category="billing", body="Resend it?")
    page = f"/staff/support/tickets/{ticket_id}"
    async with console("support", "sam") as support:
        assert (await support.get("/staff/support")).status_code == 200
        assert (await support.get(page)).status_code == 200
    async with console("superuser", "root") as root:
        assert (await root.get(page)).status_code == 200
    for role in ("billing", "content"):
        async with console(role) as other:
            home = await other.get("/staff/")
            assert home.status_code == 200
            assert "Support queue" not in home.text  # the menu shows what the role may open
            for path in ("/staff/support", page, "/staff/support/satisfaction"):
                refused = await other.get(path)
                assert refused.status_code == 403, path
                assert f"Your role ({role}) may not read ticket records." in refused.text
            note = {"body": "sneaky", "kind": "note"}
            posted = await post_form(other, "/staff/", f"{page}/messages", note)
            assert posted.status_code == 403
    assert await TicketMessage.count().where(TicketMessage.body == "sneaky") == 0

    # An admin user without any role signs in, and may do nothing.
    nobody = await BaseUser.create_user(username="norole", password=PASSWORD, email="n@example.com", admin=True,
                                        active=True)  # fmt: skip
    assert nobody.id
    async with staff_client(app) as http:
        assert (await staff_login(http, "norole")).status_code == 303
        assert (await http.get("/staff/")).status_code == 403
    # A piccolo user who is not staff: no session stays behind.
    await BaseUser.create_user(username="visitor", password=PASSWORD, email="v@example.com", admin=False, active=True)
    before = await SessionsBase.count()
    async with staff_client(app) as http:
        refused = await staff_login(http, "visitor")
        assert refused.status_code == 403 and "not a staff account" in refused.text
    assert await SessionsBase.count() == before


async def test_every_staff_form_needs_the_csrf_token(
    app: Litestar, client: httpx.AsyncClient, console: ConsoleSession, desk: SupportDesk, ada: Customer
) -> None:
    ticket_id = await service.open_ticket(desk, ada, subject="Receipt", category="billing", body="Resend it?")
    base = f"/staff/support/tickets/{ticket_id}"
    async with console("support", "sam") as http:
        for action, data in [
            ("/messages", {"body": "Hello", "kind": "reply"}),
            ("/assign", {"assignee": "me"}),
            ("/priority", {"priority": "high"}),
            ("/status", {"event": "open"}),
        ]:
            assert (await http.post(base + action, data=data)).status_code == 403, action
            forged = await http.post(base + action, data={**data, "_csrf_token": "0" * 64})
            assert forged.status_code == 403, action
        assert (await http.post("/staff/logout")).status_code == 403
        assert (await http.get("/staff/")).status_code == 200  # still signed in
    async with staff_client(app) as http:
        await http.get("/staff/login")
        assert (await http.post("/staff/login", data={"username": "sam", "password": PASSWORD})).status_code == 403
    assert await TicketMessage.count() == 1
    assert not await AuditLog.exists().where(AuditLog.action.like("support.%"))


async def test_staff_pages_carry_the_security_headers(app: Litestar, console: ConsoleSession) -> None:
    async with console("support", "sam") as http:
        for path in ("/staff/login", "/staff/support"):
            headers = (await http.get(path)).headers
            assert "script-src 'self'" in headers["content-security-policy"]
            assert "'unsafe-inline'" not in headers["content-security-policy"]
            assert headers["x-frame-options"] == "DENY"
            assert headers["x-content-type-options"] == "nosniff"
