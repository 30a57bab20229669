"""Partner API keys: issue (shown once), authenticate, revoke.

A key looks like ``rk_ab12cd34_<43 random characters>``. Its first 11 characters (``rk_ab12cd34``) are the
visible prefix, stored in clear to find the row and to show staff which key is which; the whole key is
stored only as its SHA-256. A slow password hash (argon2) buys nothing here: the key carries 256 random
bits, so the hash cannot be brute-forced, and every API call has to check it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from app import clock
from app.errors import NotAuthenticated, NotFound
from app.partners.scopes import parse_scopes, split_stored
from tables.partners import ApiKey, Partner

KEY_PREFIX = "rk_"
PREFIX_RANDOM_CHARS = 8
PREFIX_LENGTH = len(KEY_PREFIX) + PREFIX_RANDOM_CHARS
SECRET_BYTES = 32
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits
# last_used_at is for staff ("is this key still in use?"), not an access log: a write a minute is plenty.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class IssuedApiKey:
    id: int
    partner_id: int
    prefix: str
    key: str  # the only moment the whole key exists outside the partner's hands
    scopes: tuple[str, ...]
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class ApiPrincipal:
    """Who is calling the partner API: the key's partner and what the key may do."""

    partner_id: int
    partner_name: str
    key_id: int
    key_prefix: str
    key_name: str
    scopes: frozenset[str]
    expires_at: datetime | None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _new_key() -> tuple[str, str]:
    prefix = KEY_PREFIX + "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(PREFIX_RANDOM_CHARS))
    return prefix, f"{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"


def prefix_of(key: str) -> str | None:
    """The visible prefix of a well-formed key, else None."""
    if len(key) <= PREFIX_LENGTH + 1 or not key.startswith(KEY_PREFIX) or key[PREFIX_LENGTH] != "_":
        return None
    return key[:PREFIX_LENGTH]


async def issue_api_key(
    partner_id: int, *, name: str, scopes: Iterable[str], expires_at: datetime | None = None
) -> IssuedApiKey:
    """Create a key for an active partner. Raises NotFound for an unknown or inactive partner and
    InvalidInput for unknown scopes. The returned ``key`` must be shown once and never stored."""
    checked = parse_scopes(scopes)
    if not await Partner.exists().where((Partner.id == partner_id) & Partner.active.eq(True)):
        raise NotFound(f"there is no active partner with id {partner_id}", code="partner_not_found")
    # 36^8 prefixes: a clash is astronomically rare, and the unique index refuses it rather than mixing keys.
    prefix, key = _new_key()
    row = ApiKey(
        partner=partner_id,
        name=name.strip()[:100],
        prefix=prefix,
        key_hash=hash_key(key),
        scopes=" ".join(checked),
        expires_at=expires_at,
        created_at=clock.now(),
    )
    await row.save()
    return IssuedApiKey(row.id, partner_id, prefix, key, tuple(checked), expires_at)


async def revoke_api_key(prefix: str) -> int | None:
    """Revoke the key with this prefix from now on and return its id; None when it was revoked already,
    NotFound if there is no such key."""
    row = await ApiKey.select(ApiKey.id, ApiKey.revoked_at).where(ApiKey.prefix == prefix.strip()).first()
    if row is None:
        raise NotFound(f"there is no API key with prefix {prefix!r}", code="api_key_not_found")
    if row["revoked_at"] is not None:
        return None
    await ApiKey.update({ApiKey.revoked_at: clock.now()}).where(ApiKey.id == row["id"])
    key_id: int = row["id"]
    return key_id


def _refused(detail: str, code: str) -> NotAuthenticated:
    return NotAuthenticated(detail, code=code)


async def authenticate_api_key(key: str) -> ApiPrincipal:
    """The principal behind ``key``, or NotAuthenticated (codes: invalid_api_key, api_key_revoked,
    api_key_expired, partner_inactive). Revocation and expiry are read on every call, so they take
    effect on the next request."""
    prefix = prefix_of(key)
    if prefix is None:
        raise _refused("The API key is malformed.", "invalid_api_key")
    row = (
        await ApiKey.select(
            ApiKey.id,
            ApiKey.name,
            ApiKey.key_hash,
            ApiKey.scopes,
            ApiKey.expires_at,
            ApiKey.revoked_at,
            ApiKey.last_used_at,
            ApiKey.partner.id.as_alias("partner_id"),
            ApiKey.partner.name.as_alias("partner_name"),
            ApiKey.partner.active.as_alias("partner_active"),
        )
        .where(ApiKey.prefix == prefix)
        .first()
    )
    if row is None or not hmac.compare_digest(row["key_hash"], hash_key(key)):
        raise _refused("The API key is not valid.", "invalid_api_key")
    now = clock.now()
    if row["revoked_at"] is not None:
        raise _refused("The API key has been revoked.", "api_key_revoked")
    expires_at = clock.as_utc(row["expires_at"]) if row["expires_at"] is not None else None
    if expires_at is not None and expires_at <= now:
        raise _refused("The API key has expired.", "api_key_expired")
    if not row["partner_active"]:
        raise _refused("The partner behind this API key is not active.", "partner_inactive")
    last_used = row["last_used_at"]
    if last_used is None or now - clock.as_utc(last_used) >= LAST_USED_RESOLUTION:
        await ApiKey.update({ApiKey.last_used_at: now}).where(ApiKey.id == row["id"])
    return ApiPrincipal(
        partner_id=row["partner_id"],
        partner_name=row["partner_name"],
        key_id=row["id"],
        key_prefix=prefix,
        key_name=row["name"],
        scopes=split_stored(row["scopes"]),
        expires_at=expires_at,
    )
