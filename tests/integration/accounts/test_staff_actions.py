"""Support staff help customers into their accounts through the admin's forms: a new confirmation link, a
password-reset link (the customer's own, never seen by staff), and turning off two-factor authentication for
a customer who lost their authenticator (audited with its reason, the customer told by e-mail)."""

from __future__ import annotations

import httpx
from litestar import Litestar

from tables.accounts import Customer, RecoveryCode
from tables.audit import AuditLog
from tests.integration.accounts.test_two_factor import enable_two_factor
from tests.integration.staff import staff_session
from tests.portal import PASSWORD, link_in, log_in, sign_up, submit
from tests.smtp import Mailbox

FORMS = "/admin/api/forms/"
NEW_PASSWORD = "a brand new passphrase"


async def audited(action: str) -> list[dict[str, object]]:
    return list(
        await AuditLog.select(AuditLog.actor, AuditLog.target_id, AuditLog.after)
        .where(AuditLog.action == action)
        .output(load_json=True)
    )


def answer(response: httpx.Response) -> str:
    body = response.json()
    return str(body.get("custom_form_success") or body.get("custom_form_error") or body)


async def test_resend_the_confirmation_link(
    app: Litestar, client: httpx.AsyncClient, mailbox: Mailbox, new_client: httpx.AsyncClient
) -> None:
    customer = await sign_up(client, verified=False)
    await mailbox.wait_for("verify_email")  # the one sent at sign-up
    async with staff_session(app, "support") as support:
        sent = await support.post(FORMS + "resend-the-confirmation-e-mail/", json={"customer_id": customer.id})
        assert sent.status_code == 200, sent.text
        assert answer(sent) == "A new confirmation link is on its way to ada@example.com (it works for two days)."
        [_, mail] = await mailbox.wait_for("verify_email", count=2)
        assert (await new_client.get(link_in(mail, "/verify-email"))).status_code in (200, 303)
        again = await support.post(FORMS + "resend-the-confirmation-e-mail/", json={"customer_id": customer.id})
    assert answer(again) == "ada@example.com is confirmed already: there is nothing to verify."
    verified = await Customer.select(Customer.email_verified_at).where(Customer.id == customer.id).first()
    assert verified is not None and verified["email_verified_at"] is not None
    assert [a["target_id"] for a in await audited("customer.verification_resent")] == [str(customer.id)]


async def test_send_a_password_reset_link(
    app: Litestar, client: httpx.AsyncClient, mailbox: Mailbox, new_client: httpx.AsyncClient
) -> None:
    customer = await sign_up(client)
    async with staff_session(app, "support") as support:
        sent = await support.post(FORMS + "send-a-password-reset-link/", json={"customer_id": customer.id})
    assert sent.status_code == 200, sent.text
    assert "token" not in sent.text  # staff never see the link
    link = link_in((await mailbox.wait_for("reset_password"))[0], "/password-reset/confirm")
    done = await submit(
        new_client, link, "/password-reset/confirm", {"token": link.split("token=")[1], "password": NEW_PASSWORD}
    )
    assert done.status_code == 303, done.text
    assert (await log_in(new_client, password=NEW_PASSWORD)).status_code == 303
    assert [a["target_id"] for a in await audited("customer.password_reset_link_sent")] == [str(customer.id)]


async def test_reset_two_factor_is_audited_and_the_customer_is_told(
    app: Litestar, client: httpx.AsyncClient, mailbox: Mailbox, new_client: httpx.AsyncClient
) -> None:
    customer = await sign_up(client)
    await enable_two_factor(client)
    assert await RecoveryCode.count().where(RecoveryCode.customer == customer.id) == 10
    reason = "lost phone; identity checked by a video call"
    async with staff_session(app, "support") as support:
        reset = await support.post(FORMS + "reset-two-factor-authentication/",
                                   json={"customer_id": customer.id, "reason": reason})  # fmt: skip
        assert reset.status_code == 200, reset.text
        again = await support.post(FORMS + "reset-two-factor-authentication/",
                                   json={"customer_id": customer.id, "reason": reason})  # fmt: skip
    assert answer(again) == "ada@example.com has no two-factor authentication on."
    row = await Customer.select(Customer.totp_secret, Customer.totp_enabled_at).where(
        Customer.id == customer.id
    ).first()  # fmt: skip
    assert row == {"totp_secret": None, "totp_enabled_at": None}
    assert await RecoveryCode.count().where(RecoveryCode.customer == customer.id) == 0
    # The password alone logs in again.
    assert (await log_in(new_client, password=PASSWORD)).headers["location"] == "/account"
    [mail] = await mailbox.wait_for("two_factor_reset")
    assert mail["To"] == "ada@example.com"
    assert "turned off two-factor authentication" in Mailbox.text(mail)
    [entry] = await audited("customer.2fa_reset")
    assert entry["target_id"] == str(customer.id)
    assert entry["actor"] == f"staff:{await support_id()}"
    assert entry["after"] == {"reason": reason}


async def support_id() -> int:
    from piccolo.apps.user.tables import BaseUser

    row = await BaseUser.select(BaseUser.id).where(BaseUser.username == "support-staff").first()
    assert row is not None
    return int(row["id"])
