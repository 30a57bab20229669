"""Registration and e-mail verification, with mail delivered through a real SMTP server."""

from __future__ import annotations

from datetime import timedelta

import httpx

from app import clock
from tables.accounts import Customer
from tables.audit import AuditLog
from tests.portal import PASSWORD, link_in, register, submit
from tests.smtp import Mailbox


async def test_register_logs_in_and_mails_a_verification_link(client: httpx.AsyncClient, mailbox: Mailbox) -> None:
    response = await register(client, email="Ada@Example.com")
    assert response.status_code == 303
    assert response.headers["location"] == "/account"
    customer = await Customer.objects().get(Customer.email == "ada@example.com")
    assert customer is not None and customer.email_verified_at is None
    assert customer.password_hash.startswith("$argon2id$") and PASSWORD not in customer.password_hash
    account = await client.get("/account")
    assert account.status_code == 200 and "not confirmed" in account.text
    [mail] = await mailbox.wait_for("verify_email")
    assert mail["To"] == "ada@example.com"
    assert "Confirm my e-mail" in Mailbox.html(mail)
    verified = await client.get(link_in(mail, "/verify-email"))
    assert verified.status_code == 303
    await customer.refresh()
    assert customer.email_verified_at is not None
    assert "confirmed" in (await client.get("/account")).text
    assert await AuditLog.exists().where(AuditLog.action == "customer.email_verified")


async def test_verification_link_works_once(client: httpx.AsyncClient, mailbox: Mailbox) -> None:
    await register(client)
    link = link_in((await mailbox.wait_for("verify_email"))[0], "/verify-email")
    assert (await client.get(link)).status_code == 303
    again = await client.get(link)
    assert again.status_code == 400 and "already used or has expired" in again.text


async def test_verification_link_expires(client: httpx.AsyncClient, mailbox: Mailbox) -> None:
    await register(client)
    link = link_in((await mailbox.wait_for("verify_email"))[0], "/verify-email")
    with clock.frozen_at(clock.now() + timedelta(days=2, minutes=1)):
        assert (await client.get(link)).status_code == 400
    customer = await Customer.objects().get(Customer.email == "ada@example.com")
    assert customer is not None and customer.email_verified_at is None


async def test_tampered_link_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.get("/verify-email?token=not-a-real-token")
    assert response.status_code == 400


async def test_resend_replaces_the_old_link(client: httpx.AsyncClient, mailbox: Mailbox) -> None:
    await register(client)
    first = link_in((await mailbox.wait_for("verify_email"))[0], "/verify-email")
    response = await submit(client, "/account", "/account/verify-email/resend", {})
    assert response.status_code == 303
    second = link_in((await mailbox.wait_for("verify_email", count=2))[1], "/verify-email")
    assert first != second
    assert (await client.get(first)).status_code == 400
    assert (await client.get(second)).status_code == 303


async def test_form_errors_are_shown_per_field_and_input_is_kept(client: httpx.AsyncClient) -> None:
    response = await submit(
        client,
        "/register",
        "/register",
        {"email": "not-an-email", "password": "short", "name": "Grace", "country": "ZZ"},
    )
    assert response.status_code == 422
    page = response.text
    assert "Enter an e-mail address like name@example.com." in page
    assert "Use at least 12 characters." in page
    assert "Choose your country." in page
    assert 'value="not-an-email"' in page and 'value="Grace"' in page
    assert "short" not in page.replace("shortcut", "")  # the password is never echoed back
    assert await Customer.count() == 0


async def test_common_and_personal_passwords_are_refused(client: httpx.AsyncClient) -> None:
    common = await register(client, password="qwerty123456")
    assert common.status_code == 422 and "most common" in common.text
    repeated = await register(client, password="passwordpassword")
    assert repeated.status_code == 422 and "most common" in repeated.text
    personal = await register(client, email="lovelace.ada@example.com", password="lovelace.ada-2026!")
    assert personal.status_code == 422 and "name or e-mail" in personal.text


async def test_duplicate_email_is_refused_kindly(client: httpx.AsyncClient, new_client: httpx.AsyncClient) -> None:
    await register(client)
    response = await register(new_client, email="ADA@example.com")
    assert response.status_code == 422
    assert "exists already" in response.text
    assert await Customer.count() == 1


async def test_registration_is_rate_limited_per_address(client: httpx.AsyncClient) -> None:
    with clock.frozen_at(clock.now()):  # one limiter window, however long a loaded machine takes
        for n in range(10):
            await register(client, email=f"user{n}@example.com")
            client.cookies.delete("recurra_auth")
        response = await register(client, email="one-too-many@example.com")
    assert response.status_code == 429
    assert "Try again in" in response.text and "minute" in response.text
    assert not await Customer.exists().where(Customer.email == "one-too-many@example.com")
