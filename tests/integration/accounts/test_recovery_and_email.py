"""Password reset by mail and e-mail address changes."""

from __future__ import annotations

from datetime import timedelta
from html import unescape

import httpx

from app import clock
from tables.accounts import Customer
from tests.portal import PASSWORD, link_in, log_in, register, submit
from tests.smtp import Mailbox

NEW_PASSWORD = "another long passphrase"


async def _reset_link(client: httpx.AsyncClient, mailbox: Mailbox, email: str = "ada@example.com") -> str:
    response = await submit(client, "/password-reset", "/password-reset", {"email": email})
    assert response.status_code == 200
    return link_in((await mailbox.wait_for("reset_password"))[-1], "/password-reset/confirm")


async def test_reset_never_reveals_whether_an_account_exists(client: httpx.AsyncClient, mailbox: Mailbox) -> None:
    await register(client)
    client.cookies.clear()
    known = await submit(client, "/password-reset", "/password-reset", {"email": "ada@example.com"})
    unknown = await submit(client, "/password-reset", "/password-reset", {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 200
    assert known.text.replace("ada@example.com", "X") == unknown.text.replace("nobody@example.com", "X")
    await mailbox.wait_for("reset_password")
    assert [m["To"] for m in mailbox.tagged("reset_password")] == ["ada@example.com"]


async def test_reset_sets_a_new_password_once_and_ends_all_sessions(
    client: httpx.AsyncClient, new_client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    await register(client)
    link = await _reset_link(new_client, mailbox)
    weak = await submit(
        new_client, link, "/password-reset/confirm", {"token": link.split("token=")[1], "password": "short"}
    )
    assert weak.status_code == 422 and "at least 12" in weak.text
    done = await submit(
        new_client, link, "/password-reset/confirm", {"token": link.split("token=")[1], "password": NEW_PASSWORD}
    )
    assert done.status_code == 303 and done.headers["location"] == "/login"
    assert (await client.get("/account")).status_code == 303  # the session from before the reset ended
    assert (await log_in(new_client, password=PASSWORD)).status_code == 400
    assert (await log_in(new_client, password=NEW_PASSWORD)).status_code == 303
    reused = await submit(
        new_client,
        link,
        "/password-reset/confirm",
        {"token": link.split("token=")[1], "password": "yet another passphrase"},
    )
    assert reused.status_code == 400
    await mailbox.wait_for("password_changed")


async def test_reset_link_expires_after_an_hour(client: httpx.AsyncClient, mailbox: Mailbox) -> None:
    await register(client)
    client.cookies.clear()
    link = await _reset_link(client, mailbox)
    with clock.frozen_at(clock.now() + timedelta(minutes=61)):
        late = await submit(
            client, link, "/password-reset/confirm", {"token": link.split("token=")[1], "password": NEW_PASSWORD}
        )
    assert late.status_code == 400
    assert "expired" in late.text


async def test_reset_requests_are_limited_per_address(client: httpx.AsyncClient, mailbox: Mailbox) -> None:
    await register(client)
    client.cookies.clear()
    with clock.frozen_at(clock.now()):  # one limiter window, however long a loaded machine takes
        for _ in range(3):
            assert (
                await submit(client, "/password-reset", "/password-reset", {"email": "ada@example.com"})
            ).status_code == 200
        limited = await submit(client, "/password-reset", "/password-reset", {"email": "ada@example.com"})
    assert limited.status_code == 429 and "Try again in" in limited.text


async def test_change_email_is_confirmed_from_the_new_address(client: httpx.AsyncClient, mailbox: Mailbox) -> None:
    await register(client)
    wrong = await submit(
        client, "/account", "/account/email", {"new_email": "ada@new.example", "password": "nope nope nope"}
    )
    assert wrong.status_code == 422 and "not your password" in unescape(wrong.text)
    asked = await submit(client, "/account", "/account/email", {"new_email": "Ada@New.example", "password": PASSWORD})
    assert asked.status_code == 303
    [confirm] = await mailbox.wait_for("confirm_email_change")
    assert confirm["To"] == "ada@new.example"
    customer = await Customer.objects().get(Customer.name == "Ada Lovelace")
    assert customer is not None and customer.email == "ada@example.com"  # unchanged until confirmed
    assert (await client.get(link_in(confirm, "/account/email/confirm"))).status_code == 303
    await customer.refresh()
    assert customer.email == "ada@new.example" and customer.email_verified_at is not None
    [notice] = await mailbox.wait_for("email_changed")
    assert notice["To"] == "ada@example.com"
    client.cookies.clear()
    assert (await log_in(client, email="ada@new.example")).status_code == 303


async def test_profile_is_validated_and_saved(client: httpx.AsyncClient) -> None:
    await register(client)
    bad = await submit(client, "/account", "/account/profile", {"name": "", "country": "XX", "city": "Paris"})
    assert bad.status_code == 422 and 'value="Paris"' in bad.text
    good = await submit(
        client,
        "/account",
        "/account/profile",
        {"name": "Ada King", "country": "FR", "address_line1": "1 Rue X", "city": "Paris", "postal_code": "75001"},
    )
    assert good.status_code == 303
    customer = await Customer.objects().get(Customer.email == "ada@example.com")
    assert customer is not None
    assert (customer.name, customer.country, customer.city) == ("Ada King", "FR", "Paris")
