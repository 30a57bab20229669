"""Single-use, expiring tokens mailed to customers. Only a SHA-256 of each token is stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from app import clock
from app.errors import DomainError
from tables.accounts import AuthToken

LIFETIMES = {
    AuthToken.Purpose.verify_email: timedelta(days=2),
    AuthToken.Purpose.reset_password: timedelta(hours=1),
    AuthToken.Purpose.change_email: timedelta(days=1),
}


class TokenInvalid(DomainError):
    status = 400
    code = "token_invalid"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_token(customer_id: int, purpose: AuthToken.Purpose, new_email: str | None = None) -> str:
    """A fresh token for ``purpose``; earlier unused tokens for the same purpose stop working."""
    now = clock.now()
    await AuthToken.update({AuthToken.used_at: now}).where(
        (AuthToken.customer == customer_id) & (AuthToken.purpose == purpose) & AuthToken.used_at.is_null()
    )
    token = secrets.token_urlsafe(32)
    await AuthToken.insert(
        AuthToken(
            customer=customer_id,
            purpose=purpose,
            token_hash=token_hash(token),
            new_email=new_email,
            expires_at=now + LIFETIMES[purpose],
            created_at=now,
        )
    )
    return token


async def consume_token(token: str, purpose: AuthToken.Purpose) -> AuthToken:
    """Mark the token used and return it, or raise TokenInvalid (unknown, used, expired or wrong purpose).
    The UPDATE ... WHERE used_at IS NULL makes two simultaneous uses end with exactly one winner."""
    now = clock.now()
    claimed = await (
        AuthToken.update({AuthToken.used_at: now})
        .where(
            (AuthToken.token_hash == token_hash(token))
            & (AuthToken.purpose == purpose)
            & AuthToken.used_at.is_null()
            & (AuthToken.expires_at > now)
        )
        .returning(AuthToken.id)
    )
    if not claimed:
        raise TokenInvalid("This link is invalid, was already used or has expired.")
    row = await AuthToken.objects().get(AuthToken.id == claimed[0]["id"])
    assert row is not None  # noqa: S101 - just updated in this statement's transaction
    return row
