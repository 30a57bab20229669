"""Log-in, log-out, brute-force limits, sessions and password changes."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import httpx

from app import clock
from tables.accounts import Customer, CustomerSession
from tables.audit import AuditLog
from tests.portal import PASSWORD, log_in, register, set_cookie, submit

AUTH = "recurra_auth"


async def test_log_in_rotates_the_session_token_and_log_out_ends_it(client: httpx.AsyncClient) -> None:
    await register(client)
    registered_token = client.cookies[AUTH]
    await submit(client, "/account", "/logout", {})
    assert AUTH not in client.cookies
    client.cookies.set(AUTH, registered_token)
    assert (await client.get("/account")).status_code == 303  # an ended session stays ended

    client.cookies.clear()
    response = await log_in(client, next="/account/security")
    assert response.status_code == 303 and response.headers["location"] == "/account/security"
    assert client.cookies[AUTH] != registered_token
    cookie = set_cookie(response, AUTH)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age" not in cookie  # ends with the browser
    assert (await client.get("/account/security")).status_code == 200


async def test_remember_me_sets_a_persistent_cookie(client: httpx.AsyncClient) -> None:
    await register(client)
    client.cookies.clear()
    response = await log_in(client, remember="on")
    assert "Max-Age=2592000" in set_cookie(response, AUTH)
    session = (
        await CustomerSession.objects()
        .where(CustomerSession.revoked_at.is_null())
        .order_by(CustomerSession.id, ascending=False)
        .first()
    )
    assert session is not None and session.remember


async def test_wrong_password_and_unknown_email_get_the_same_answer(client: httpx.AsyncClient) -> None:
    await register(client)
    client.cookies.clear()
    wrong = await log_in(client, password="not my password at all")
    unknown = await log_in(client, email="nobody@example.com")
    assert wrong.status_code == unknown.status_code == 400
    assert "That e-mail and password don't match an account." in unescape(wrong.text)
    assert unescape(wrong.text).count("don't match") == unescape(unknown.text).count("don't match") == 1
    assert 'value="ada@example.com"' in wrong.text
    assert await AuditLog.count().where(AuditLog.action == "customer.login_failed") == 2


async def test_repeated_failures_lock_the_account_for_a_while(client: httpx.AsyncClient) -> None:
    await register(client)
    client.cookies.clear()
    with clock.frozen_at(clock.now()):  # one limiter window, however long a loaded machine takes
        for _ in range(5):
            assert (await log_in(client, password="wrong password, sorry")).status_code == 400
        locked = await log_in(client)  # even the right password waits now
    assert locked.status_code == 429
    assert re.search(r"Too many attempts\. Try again in ([1-9]|1[0-5]) minutes?\.", locked.text)
    assert await AuditLog.exists().where(AuditLog.action == "security.rate_limited")
    with clock.frozen_at(clock.now() + timedelta(minutes=16)):
        assert (await log_in(client)).status_code == 303


async def test_pages_that_need_a_log_in_redirect_back_after_it(client: httpx.AsyncClient) -> None:
    response = await client.get("/account/security")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Faccount%2Fsecurity"
    htmx = await client.get("/account", headers={"HX-Request": "true"})
    assert htmx.headers["hx-redirect"] == "/login?next=%2Faccount"


async def test_next_only_goes_to_this_site(client: httpx.AsyncClient) -> None:
    await register(client)
    client.cookies.clear()
    for evil in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        response = await log_in(client, next=evil)
        assert response.headers["location"] == "/account"
        client.cookies.clear()


async def test_change_password_ends_other_sessions(client: httpx.AsyncClient, new_client: httpx.AsyncClient) -> None:
    await register(client)
    await log_in(new_client)
    assert (await new_client.get("/account")).status_code == 200
    refused = await submit(
        client,
        "/account/security",
        "/account/password",
        {"current_password": "wrong", "new_password": "a brand new passphrase"},
    )
    assert refused.status_code == 422 and "That is not your current password." in refused.text
    changed = await submit(
        client,
        "/account/security",
        "/account/password",
        {"current_password": PASSWORD, "new_password": "a brand new passphrase"},
    )
    assert changed.status_code == 303
    assert (await client.get("/account")).status_code == 200  # this browser got a fresh session
    assert (await new_client.get("/account")).status_code == 303  # the other one was logged out
    new_client.cookies.clear()
    assert (await log_in(new_client, password="a brand new passphrase")).status_code == 303


async def test_sessions_are_listed_and_can_be_ended_everywhere(
    client: httpx.AsyncClient, new_client: httpx.AsyncClient
) -> None:
    await register(client)
    await log_in(new_client)
    page = await client.get("/account/security")
    assert page.text.count("data-session=") == 2 and "this device" in page.text
    ended = await submit(client, "/account/security", "/account/sessions/end-others", {})
    assert ended.status_code == 303
    assert (await new_client.get("/account")).status_code == 303
    assert (await client.get("/account")).status_code == 200
    assert (await client.get("/account/security")).text.count("data-session=") == 1


async def test_one_session_can_be_ended_but_not_someone_elses(
    client: httpx.AsyncClient, new_client: httpx.AsyncClient
) -> None:
    await register(client)
    await register(new_client, email="grace@example.com")
    graces = (
        await CustomerSession.objects()
        .where(CustomerSession.customer == (await Customer.objects().get(Customer.email == "grace@example.com")).id)
        .first()
    )
    assert graces is not None
    await submit(client, "/account/security", f"/account/sessions/{graces.id}/end", {})
    assert (await new_client.get("/account")).status_code == 200  # Ada cannot end Grace's session


async def test_forms_without_a_csrf_token_are_refused(client: httpx.AsyncClient) -> None:
    await register(client)
    client.cookies.delete(AUTH)
    forged = await client.post("/login", data={"email": "ada@example.com", "password": PASSWORD})
    assert forged.status_code == 403
    assert AUTH not in client.cookies
    logged_in = await log_in(client)
    assert logged_in.status_code == 303
    no_token = await client.post("/account/password", data={"current_password": PASSWORD, "new_password": "x" * 20})
    assert no_token.status_code == 403
