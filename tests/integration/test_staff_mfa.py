"""Staff TOTP: enrol through piccolo-admin's MFA endpoint, then log-in needs a code from the authenticator."""

from __future__ import annotations

import httpx
import pyotp
from litestar import Litestar
from piccolo.apps.user.tables import BaseUser
from piccolo_api.mfa.authenticator.tables import AuthenticatorSecret

from app.accounts.staff_mfa import mfa_encryption
from app.settings import Settings
from tables.audit import AuditLog
from tests.integration.staff import staff_client, staff_session
from tests.integration.test_admin import PASSWORD


async def _login(app: Litestar, code: str | None) -> httpx.Response:
    async with staff_client(app) as http:
        await http.get("/admin/")
        body = {"username": "root", "password": PASSWORD} | ({"mfa_code": code} if code is not None else {})
        response = await http.post(
            "/admin/public/login/", json=body, headers={"X-CSRFToken": http.cookies["csrftoken"]}
        )
        if response.status_code == 200:
            assert (await http.get("/admin/api/tables/")).status_code == 200
        return response


async def test_enrol_then_log_in_with_a_totp_code(app: Litestar, settings: Settings, client: httpx.AsyncClient) -> None:
    async with staff_session(app, "superuser", username="root") as root:
        wrong_password = await root.post(
            "/admin/api/mfa-setup/", json={"action": "register", "password": "not my password", "format": "json"}
        )
        assert wrong_password.status_code == 401
        enrolled = await root.post(
            "/admin/api/mfa-setup/", json={"action": "register", "password": PASSWORD, "format": "json"}
        )
        assert enrolled.status_code == 200, enrolled.text
        assert enrolled.json()["qrcode_image"]  # a base64 PNG of the otpauth:// URI
        assert len(enrolled.json()["recovery_codes"]) == 8

    user = await BaseUser.objects().get(BaseUser.username == "root")
    assert user is not None
    stored = await AuthenticatorSecret.objects().get(AuthenticatorSecret.user_id == user.id)
    assert stored is not None
    shared_secret = mfa_encryption(settings).decrypt(stored.secret)
    assert shared_secret not in stored.secret  # encrypted at rest with the key derived from SECRET_KEY

    without_code = await _login(app, None)
    assert without_code.status_code == 401
    assert "MFA code required" in without_code.text
    wrong_code = await _login(app, "000000" if pyotp.TOTP(shared_secret).now() != "000000" else "111111")
    assert wrong_code.status_code == 401
    assert (await _login(app, pyotp.TOTP(shared_secret).now())).status_code == 200

    actions = await AuditLog.select(AuditLog.action).where(AuditLog.actor == f"staff:{user.id}").order_by(AuditLog.id)
    assert [a["action"] for a in actions] == [
        "staff.logged_in",
        "staff.mfa_enrolled",
        "staff.mfa_failed",
        "staff.logged_in",
    ]


async def test_a_recovery_code_logs_in_once(app: Litestar, client: httpx.AsyncClient) -> None:
    async with staff_session(app, "superuser", username="root") as root:
        enrolled = await root.post(
            "/admin/api/mfa-setup/", json={"action": "register", "password": PASSWORD, "format": "json"}
        )
        recovery_code = enrolled.json()["recovery_codes"][0]
    assert (await _login(app, recovery_code)).status_code == 200
    assert (await _login(app, recovery_code)).status_code == 401
