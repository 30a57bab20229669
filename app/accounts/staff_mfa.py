"""TOTP two-factor for staff: piccolo_api's AuthenticatorProvider, wired to Recurra's secret key and audit log.

Staff enrol from the admin (user menu -> MFA, or ``POST /admin/api/mfa-setup/``) and from then on piccolo-
admin's log-in asks for a code. The shared TOTP secrets are stored encrypted (Fernet) with a key derived
from SECRET_KEY: rotating SECRET_KEY makes existing enrolments unreadable, so staff must enrol again.
"""

from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from piccolo.apps.user.tables import BaseUser
from piccolo_api.encryption.providers import EncryptionProvider, FernetProvider
from piccolo_api.mfa.authenticator.provider import AuthenticatorProvider

from app.audit.service import actor_for_staff, record_audit
from app.settings import Settings

# One 30-second step either side: tolerates a phone clock a little off, as authenticator apps expect.
VALID_WINDOW = 1


def mfa_encryption(settings: Settings) -> EncryptionProvider:
    """The Fernet key is derived (HKDF-SHA256, its own label) so it is never the signing key itself."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"recurra staff mfa secrets").derive(
        settings.secret_key.encode()
    )
    provider: EncryptionProvider = FernetProvider(encryption_key=base64.urlsafe_b64encode(key))
    return provider


async def _audit(action: str, user: BaseUser) -> None:
    await record_audit(action, actor=actor_for_staff(user.id), actor_label=str(user.username),
                       target_type="piccolo_user", target_id=user.id)  # fmt: skip


class AuditedAuthenticatorProvider(AuthenticatorProvider):
    """Enrolment, removal and failed codes are security events: each leaves an audit entry."""

    async def authenticate_user(self, user: BaseUser, code: str) -> bool:
        ok: bool = await super().authenticate_user(user=user, code=code)
        if not ok:
            await _audit("staff.mfa_failed", user)
        return ok

    async def get_registration_json(self, user: BaseUser) -> dict[str, Any]:
        result: dict[str, Any] = await super().get_registration_json(user=user)
        await _audit("staff.mfa_enrolled", user)
        return result

    async def get_registration_html(self, user: BaseUser) -> str:
        html: str = await super().get_registration_html(user=user)
        await _audit("staff.mfa_enrolled", user)
        return html

    async def delete_registration(self, user: BaseUser) -> None:
        await super().delete_registration(user=user)
        await _audit("staff.mfa_disabled", user)


def staff_mfa_provider(settings: Settings) -> AuthenticatorProvider:
    return AuditedAuthenticatorProvider(
        encryption_provider=mfa_encryption(settings),
        issuer_name=f"{settings.site_name} admin",
        valid_window=VALID_WINDOW,
    )
