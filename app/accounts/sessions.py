"""Customer log-in sessions.

Each session is a random token in an HttpOnly cookie. The database row (CustomerSession, keyed by the token's
SHA-256) is the truth, so sessions can be listed and ended everywhere; a short-lived copy in the ``auth``
store (Redis when configured) keeps the per-request check off the database. A new token is issued at every
log-in and privilege change, so a token seen before log-in is never a logged-in one (no fixation).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from litestar.stores.base import Store

from app import clock
from tables.accounts import CustomerSession

AUTH_COOKIE = "recurra_auth"
PENDING_COOKIE = "recurra_2fa"
SESSION_LIFETIME = timedelta(hours=12)
REMEMBERED_LIFETIME = timedelta(days=30)
PENDING_LIFETIME = timedelta(minutes=5)
CACHE_SECONDS = 300
LAST_SEEN_RESOLUTION = timedelta(minutes=5)  # write last_seen_at at most this often


@dataclass(frozen=True, slots=True)
class SessionInfo:
    id: int
    customer_id: int
    expires_at: datetime
    remember: bool


@dataclass(frozen=True, slots=True)
class PendingLogin:
    """Password checked, second factor still to come."""

    customer_id: int
    remember: bool


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _cache_key(token_hash: str) -> str:
    return f"session:{token_hash}"


async def start_session(
    store: Store, customer_id: int, *, remember: bool, ip: str, user_agent: str
) -> tuple[str, SessionInfo]:
    now = clock.now()
    token = secrets.token_urlsafe(32)
    expires = now + (REMEMBERED_LIFETIME if remember else SESSION_LIFETIME)
    rows = await CustomerSession.insert(
        CustomerSession(
            customer=customer_id,
            session_key_hash=_hash(token),
            ip=ip[:45],
            user_agent=user_agent[:300],
            remember=remember,
            created_at=now,
            last_seen_at=now,
            expires_at=expires,
        )
    ).returning(CustomerSession.id)
    return token, SessionInfo(rows[0]["id"], customer_id, expires, remember)


async def resolve_session(store: Store, token: str) -> SessionInfo | None:
    """The live session behind ``token``, or None (unknown, expired or ended)."""
    token_hash = _hash(token)
    now = clock.now()
    cached = await store.get(_cache_key(token_hash))
    if cached is not None:
        data = json.loads(cached)
        info = SessionInfo(
            data["id"], data["customer_id"], datetime.fromisoformat(data["expires_at"]), data["remember"]
        )
        return info if info.expires_at > now else None
    row = await (
        CustomerSession.select()
        .where(
            (CustomerSession.session_key_hash == token_hash)
            & CustomerSession.revoked_at.is_null()
            & (CustomerSession.expires_at > now)
        )
        .first()
    )
    if row is None:
        return None
    info = SessionInfo(row["id"], row["customer"], clock.as_utc(row["expires_at"]), row["remember"])
    if clock.as_utc(row["last_seen_at"]) < now - LAST_SEEN_RESOLUTION:
        await CustomerSession.update({CustomerSession.last_seen_at: now}).where(CustomerSession.id == info.id)
    payload = {
        "id": info.id,
        "customer_id": info.customer_id,
        "expires_at": info.expires_at.isoformat(),
        "remember": info.remember,
    }
    await store.set(_cache_key(token_hash), json.dumps(payload), expires_in=CACHE_SECONDS)
    return info


async def end_session(store: Store, token: str) -> None:
    token_hash = _hash(token)
    await CustomerSession.update({CustomerSession.revoked_at: clock.now()}).where(
        (CustomerSession.session_key_hash == token_hash) & CustomerSession.revoked_at.is_null()
    )
    await store.delete(_cache_key(token_hash))


async def end_sessions(
    store: Store, customer_id: int, *, keep_session_id: int | None = None, only_id: int | None = None
) -> int:
    """End the customer's sessions (all, all but ``keep_session_id``, or just ``only_id``); returns how many."""
    where = (CustomerSession.customer == customer_id) & CustomerSession.revoked_at.is_null()
    if keep_session_id is not None:
        where &= CustomerSession.id != keep_session_id
    if only_id is not None:
        where &= CustomerSession.id == only_id
    ended = (
        await CustomerSession.update({CustomerSession.revoked_at: clock.now()})
        .where(where)
        .returning(CustomerSession.session_key_hash)
    )
    for row in ended:
        await store.delete(_cache_key(row["session_key_hash"]))
    return len(ended)


async def list_sessions(customer_id: int) -> list[dict[str, object]]:
    now = clock.now()
    return await (
        CustomerSession.select(
            CustomerSession.id,
            CustomerSession.ip,
            CustomerSession.user_agent,
            CustomerSession.created_at,
            CustomerSession.last_seen_at,
            CustomerSession.remember,
        )
        .where(
            (CustomerSession.customer == customer_id)
            & CustomerSession.revoked_at.is_null()
            & (CustomerSession.expires_at > now)
        )
        .order_by(CustomerSession.last_seen_at, ascending=False)
    )


async def start_pending_login(store: Store, customer_id: int, *, remember: bool) -> str:
    token = secrets.token_urlsafe(32)
    payload = json.dumps({"customer_id": customer_id, "remember": remember})
    await store.set(f"pending:{_hash(token)}", payload, expires_in=int(PENDING_LIFETIME.total_seconds()))
    return token


async def get_pending_login(store: Store, token: str) -> PendingLogin | None:
    raw = await store.get(f"pending:{_hash(token)}")
    if raw is None:
        return None
    data = json.loads(raw)
    return PendingLogin(data["customer_id"], data["remember"])


async def end_pending_login(store: Store, token: str) -> None:
    await store.delete(f"pending:{_hash(token)}")
