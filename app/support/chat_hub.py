"""The live side of chat: who hears what, and which agents are online, across every web process.

Events travel on Litestar's channels plugin: Redis pub/sub with REDIS_URL (every web process hears every
publication), an in-memory backend in the one process of the embedded default. Nothing is kept there: the
transcript is the ticket's thread in the database, and a reconnecting client asks it for what it missed
(``app.support.chat.lines_after``), so a publication lost with a dropped connection costs nothing.

Channels (Redis pub/sub is shared by every database on a server, so each name carries REDIS_PREFIX):
- ``customer:<id>``: everything about that customer's chat (every tab of theirs listens);
- ``agent:<user id>``: everything about the chats that agent holds (every tab of theirs listens);
- ``queue``: chats waiting, taken and gone, for every agent with the chats page open;
- ``presence``: whether any agent is online, for every customer with the chat panel open.

Presence: an agent is online while a chats page of theirs holds its WebSocket open. Each connection is an
entry with an expiry (``PRESENCE_TTL_S``) that the connection renews every ``PRESENCE_RENEW_S``, so a process
that dies takes its agents offline within the TTL: a sorted set scored by expiry in Redis, a dict in process.
Expiry is read from ``app.clock``, so tests step past it instead of waiting.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from redis.asyncio import Redis

from app import clock
from app.db import after_commit, engine
from app.ratelimit import RateLimiter
from app.security import origin
from app.settings import Settings
from app.support.service import SupportDesk

PRESENCE_TTL_S = 30
PRESENCE_RENEW_S = 10
# Events a slow socket may have queued before newer ones are dropped; it resumes from the database anyway.
SUBSCRIBER_BACKLOG = 1000

Event = dict[str, Any]


class Presence(Protocol):
    async def join(self, member: str) -> None:
        """Mark connection ``member`` ("<user id>:<connection>") online for PRESENCE_TTL_S more seconds."""
        ...

    async def leave(self, member: str) -> None: ...

    async def online(self) -> set[int]:
        """The user ids of the agents with at least one live connection."""
        ...


def _user_ids(members: Iterable[str | bytes]) -> set[int]:
    ids = set()
    for member in members:
        text = member.decode() if isinstance(member, bytes) else member
        ids.add(int(text.partition(":")[0]))
    return ids


class RedisPresence:
    def __init__(self, redis: Redis, key: str) -> None:
        self._redis = redis
        self._key = key

    async def join(self, member: str) -> None:
        now = clock.now().timestamp()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(self._key, {member: now + PRESENCE_TTL_S})
            pipe.zremrangebyscore(self._key, "-inf", now)  # entries of connections that died unannounced
            pipe.expire(self._key, PRESENCE_TTL_S * 2)
            await pipe.execute()

    async def leave(self, member: str) -> None:
        await self._redis.zrem(self._key, member)

    async def online(self) -> set[int]:
        members = await self._redis.zrangebyscore(self._key, f"({clock.now().timestamp()}", "+inf")
        return _user_ids(members)


class MemoryPresence:
    """The embedded default's one process."""

    def __init__(self) -> None:
        self._expiry: dict[str, float] = {}

    async def join(self, member: str) -> None:
        now = clock.now().timestamp()
        self._expiry = {m: at for m, at in self._expiry.items() if at > now}
        self._expiry[member] = now + PRESENCE_TTL_S

    async def leave(self, member: str) -> None:
        self._expiry.pop(member, None)

    async def online(self) -> set[int]:
        now = clock.now().timestamp()
        return _user_ids(m for m, at in self._expiry.items() if at > now)


@dataclass(frozen=True, slots=True)
class ChatHub:
    """What chat needs beyond the database: the desk (tickets), the shared rate limiter, the channels, presence,
    and the one origin WebSockets may come from."""

    desk: SupportDesk
    limiter: RateLimiter
    channels: ChannelsPlugin
    presence: Presence
    prefix: str
    origin: str

    def customer_channel(self, customer_id: int) -> str:
        return f"{self.prefix}:chat:customer:{customer_id}"

    def agent_channel(self, user_id: int) -> str:
        return f"{self.prefix}:chat:agent:{user_id}"

    @property
    def queue_channel(self) -> str:
        return f"{self.prefix}:chat:queue"

    @property
    def presence_channel(self) -> str:
        return f"{self.prefix}:chat:presence"

    def origin_allowed(self, value: str | None) -> bool:
        """Browsers always send Origin with a WebSocket: only pages of this site (BASE_URL) may open one, so
        another site cannot ride a visitor's cookies into their chat (cross-site WebSocket hijacking)."""
        return value is not None and value.rstrip("/").lower() == self.origin

    async def publish(self, event: Event, channels: Iterable[str]) -> None:
        """Send ``event`` to ``channels`` once the current transaction (if any) has committed: nobody hears of a
        message the database may still roll back."""
        data = msgspec.json.encode(event)
        targets = list(channels)

        async def send() -> None:
            await self.channels.wait_published(data, targets)

        await after_commit(engine(), send)

    async def agents_online(self) -> bool:
        return bool(await self.presence.online())


def build_chat_hub(settings: Settings, redis: Redis | None, limiter: RateLimiter, desk: SupportDesk) -> ChatHub:
    backend: ChannelsBackend
    presence: Presence
    if redis is None:
        backend, presence = MemoryChannelsBackend(), MemoryPresence()
    else:
        backend = RedisChannelsPubSubBackend(redis=redis)
        presence = RedisPresence(redis, f"{settings.redis.prefix}:chat:presence")
    plugin = ChannelsPlugin(
        backend=backend,
        arbitrary_channels_allowed=True,
        subscriber_max_backlog=SUBSCRIBER_BACKLOG,
        subscriber_backlog_strategy="dropleft",
    )
    return ChatHub(desk=desk, limiter=limiter, channels=plugin, presence=presence, prefix=settings.redis.prefix,
                   origin=origin(settings.base_url).lower())  # fmt: skip
