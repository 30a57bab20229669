"""Time-based one-time passwords (RFC 6238) for two-factor log-in, and one-time recovery codes."""

from __future__ import annotations

import hashlib
import secrets

import pyotp
import segno

ISSUER = "Recurra"
RECOVERY_CODE_COUNT = 10
VALID_WINDOW = 1  # accept the previous and next 30-second step: phones' clocks drift


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, account: str, issuer: str = ISSUER) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """The otpauth:// URI as an inline SVG QR code, generated here (no third-party image service)."""
    return str(segno.make(uri, error="m").svg_inline(scale=5, dark="#1d2433", light="#ffffff"))


def new_recovery_codes() -> list[str]:
    """Ten codes like ``7kq2-m9xd``: easy to type, 40 bits each."""
    alphabet = "23456789abcdefghjkmnpqrstuvwxyz"

    def group() -> str:
        return "".join(secrets.choice(alphabet) for _ in range(4))

    return [f"{group()}-{group()}" for _ in range(RECOVERY_CODE_COUNT)]


def hash_recovery_code(code: str) -> str:
    normalised = code.strip().lower().replace(" ", "")
    if "-" not in normalised and len(normalised) == 8:
        normalised = normalised[:4] + "-" + normalised[4:]
    return hashlib.sha256(normalised.encode()).hexdigest()
