"""Identifiers in the shapes PayPal uses (17 upper-case characters for orders and captures, and so on)."""

from __future__ import annotations

import secrets
import string

_UPPER = string.ascii_uppercase + string.digits
_LOWER = string.ascii_lowercase + string.digits
_PAYER = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # PayPal's payer ids avoid 0, 1, I and O


def _pick(alphabet: str, length: int) -> str:
    # One read of the OS's randomness for the whole id (secrets.choice makes one a character, which was a tenth
    # of the sandbox's CPU at renewal volume). The slight modulo bias does not matter for ids.
    return "".join(alphabet[byte % len(alphabet)] for byte in secrets.token_bytes(length))


def resource_id() -> str:
    """Orders, captures, refunds, setup tokens: e.g. 5O190127TN364715T."""
    return _pick(_UPPER, 17)


def payer_id() -> str:
    return _pick(_PAYER, 13)


def payment_token_id() -> str:
    return _pick(_LOWER, 8)


def customer_id() -> str:
    return _pick(_LOWER + string.ascii_uppercase, 10)


def debug_id() -> str:
    return secrets.token_hex(7)[:13]


def access_token() -> str:
    return "A21AA" + secrets.token_urlsafe(48)


def event_id() -> str:
    return "WH-" + _pick(_UPPER, 17) + "-" + _pick(_UPPER, 17)
