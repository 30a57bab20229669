"""TOTP two-factor authentication with recovery codes."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx

from app import clock
from tables.accounts import Customer, RecoveryCode
from tests.portal import PASSWORD, log_in, register, submit, totp_code

AUTH = "recurra_auth"


async def enable_two_factor(client: httpx.AsyncClient) -> tuple[str, list[str]]:
    setup = await submit(client, "/account/security", "/account/2fa/setup", {})
    assert setup.status_code == 200
    assert "<svg" in setup.text  # the QR code is drawn on the server
    secret = re.search(r"data-secret>([A-Z2-7]+)<", setup.text)
    assert secret
    wrong = await client.post(
        "/account/2fa/confirm", data={"_csrf_token": client.cookies["recurra_csrf"], "code": "000000"}
    )
    assert wrong.status_code == 422 and "doesn" in wrong.text
    confirmed = await client.post(
        "/account/2fa/confirm",
        data={"_csrf_token": client.cookies["recurra_csrf"], "code": totp_code(secret.group(1))},
    )
    assert confirmed.status_code == 200
    codes = re.findall(r"<code>([a-z0-9]{4}-[a-z0-9]{4})</code>", confirmed.text)
    assert len(codes) == 10
    return secret.group(1), codes


async def test_enable_two_factor_rotates_the_session(client: httpx.AsyncClient) -> None:
    await register(client)
    before = client.cookies[AUTH]
    await enable_two_factor(client)
    assert client.cookies[AUTH] != before
    assert (await client.get("/account/security")).status_code == 200
    client.cookies.set(AUTH, before)
    assert (await client.get("/account")).status_code == 303  # the pre-change session no longer works
    customer = await Customer.objects().get(Customer.email == "ada@example.com")
    assert customer is not None and customer.totp_enabled_at is not None
    assert all(len(r.code_hash) == 64 for r in await RecoveryCode.objects())  # stored hashed


async def test_log_in_asks_for_the_code_and_accepts_each_code_once(
    client: httpx.AsyncClient, new_client: httpx.AsyncClient
) -> None:
    await register(client)
    secret, _ = await enable_two_factor(client)
    first = await log_in(new_client)
    assert first.status_code == 303 and first.headers["location"].startswith("/login/2fa")
    assert AUTH not in new_client.cookies
    assert (await new_client.get("/account")).status_code == 303  # not logged in until the code
    code = totp_code(secret, clock.now() + timedelta(seconds=30))  # the next step: setup used this one
    with clock.frozen_at(clock.now() + timedelta(seconds=30)):
        done = await submit(new_client, "/login/2fa", "/login/2fa", {"code": code, "next": "/account"})
        assert done.status_code == 303 and done.headers["location"] == "/account"
        assert (await new_client.get("/account")).status_code == 200
        new_client.cookies.clear()
        await log_in(new_client)
        replay = await submit(new_client, "/login/2fa", "/login/2fa", {"code": code})
    assert replay.status_code == 422  # the same code cannot be used twice


async def test_recovery_codes_work_once(client: httpx.AsyncClient, new_client: httpx.AsyncClient) -> None:
    await register(client)
    _, codes = await enable_two_factor(client)
    await log_in(new_client)
    used = await submit(new_client, "/login/2fa", "/login/2fa", {"code": codes[0].upper()})
    assert used.status_code == 303
    new_client.cookies.clear()
    await log_in(new_client)
    again = await submit(new_client, "/login/2fa", "/login/2fa", {"code": codes[0]})
    assert again.status_code == 422


async def test_second_factor_attempts_are_limited(client: httpx.AsyncClient, new_client: httpx.AsyncClient) -> None:
    with clock.frozen_at(clock.now()):  # one limiter window, however long a loaded machine takes
        await register(client)
        await enable_two_factor(client)
        await log_in(new_client)
        for _ in range(3):  # setup spent two attempts of the five in this window
            assert (await submit(new_client, "/login/2fa", "/login/2fa", {"code": "123456"})).status_code == 422
        limited = await submit(new_client, "/login/2fa", "/login/2fa", {"code": "123456"})
    assert limited.status_code == 429


async def test_pending_log_in_expires(client: httpx.AsyncClient, new_client: httpx.AsyncClient) -> None:
    await register(client)
    secret, _ = await enable_two_factor(client)
    await log_in(new_client)
    # A pending log-in lives five minutes in the store; an unknown or expired one sends the person back.
    new_client.cookies.set("recurra_2fa", "expired-or-unknown")
    response = await submit(new_client, "/login/2fa", "/login/2fa", {"code": totp_code(secret)})
    assert response.status_code == 303 and response.headers["location"] == "/login"


async def test_disable_two_factor_needs_the_password(client: httpx.AsyncClient, new_client: httpx.AsyncClient) -> None:
    await register(client)
    await enable_two_factor(client)
    refused = await submit(client, "/account/security", "/account/2fa/disable", {"password": "wrong"})
    assert refused.status_code == 422
    done = await submit(client, "/account/security", "/account/2fa/disable", {"password": PASSWORD})
    assert done.status_code == 303
    assert (await log_in(new_client)).headers["location"] == "/account"  # no second step any more
    assert await RecoveryCode.count() == 0
