"""Key-value stores for sessions, cache and rate limits: Redis when configured, else in process."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import timedelta

from litestar.stores.base import StorageObject, Store
from litestar.stores.redis import RedisStore
from litestar.stores.registry import StoreRegistry
from redis.asyncio import Redis

from app.settings import Settings

# How many writes between two sweeps of expired entries in a LocalStore.
SWEEP_EVERY = 1024
# Where web processes share a store (Redis), each reads a StoreVersion at most once a second: a change shows at
# once in the process that made it and within a second in the others, and a cache hit costs no round trip for it.
# (Reading the catalog's on every hit cost 3,235 against 4,194 requests/s with two processes; README, Performance.)
SHARED_VERSION_TTL_S = 1.0


class LocalStore(Store):
    """The in-process store of the zero-set-up default.

    Litestar's MemoryStore takes an async lock around every dictionary access, which one event loop does not need
    (nothing here awaits, so each call is atomic), and drops an expired entry only when its key is read again:
    versioned cache keys are never read again, so it grew without end. This one sweeps expired entries every
    SWEEP_EVERY writes.
    """

    __slots__ = ("_entries", "_writes")

    def __init__(self) -> None:
        self._entries: dict[str, StorageObject] = {}
        self._writes = 0

    async def set(self, key: str, value: str | bytes, expires_in: int | timedelta | None = None) -> None:
        data = value.encode() if isinstance(value, str) else value
        self._entries[key] = StorageObject.new(data=data, expires_in=expires_in)
        self._writes += 1
        if self._writes % SWEEP_EVERY == 0:
            self._sweep()

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expired:
            del self._entries[key]
            return None
        if renew_for and entry.expires_at:
            self._entries[key] = StorageObject.new(data=entry.data, expires_in=renew_for)
        return entry.data

    async def delete(self, key: str) -> None:
        self._entries.pop(key, None)

    async def delete_all(self) -> None:
        self._entries.clear()

    async def exists(self, key: str) -> bool:
        return await self.get(key) is not None

    async def expires_in(self, key: str) -> int | None:
        entry = self._entries.get(key)
        return entry.expires_in if entry is not None and not entry.expired else None

    def _sweep(self) -> None:
        self._entries = {key: entry for key, entry in self._entries.items() if not entry.expired}

    def __len__(self) -> int:
        return len(self._entries)


class StoreVersion:
    """A version kept in a store under ``key``; cache keys carry it, so a bump retires every entry at once.

    With ``ttl_s`` (a store shared by processes) the version read is kept that long, and one read serves every
    caller that finds it expired at once (a hundred requests in flight would each open a connection to Redis and
    stall together). A store that lost the key (flushed, restarted) starts a new version: never one a process may
    still hold entries of; two processes racing there each set one, and the last write wins for both.
    """

    def __init__(self, store: Store, key: str, ttl_s: float = 0.0) -> None:
        self.store = store
        self.key = key
        self.ttl_s = ttl_s
        self.timer: Callable[[], float] = time.monotonic  # tests move it instead of sleeping
        self._known: tuple[float, str] | None = None  # (monotonic deadline, version)
        self._reading: asyncio.Future[str] | None = None

    async def current(self) -> str:
        known = self._known
        if known is not None and known[0] > self.timer():
            return known[1]
        if not self.ttl_s:
            return await self._read()
        if self._reading is None:
            self._reading = asyncio.ensure_future(self._read())
            self._reading.add_done_callback(self._read_done)
        return await asyncio.shield(self._reading)

    def forget(self) -> None:
        """Read the version from the store on the next use."""
        self._known = None

    async def bump(self) -> str:
        version = uuid.uuid4().hex[:12]
        await self.store.set(self.key, version)
        self._known = (self.timer() + self.ttl_s, version)
        return version

    def _read_done(self, _: asyncio.Future[str]) -> None:
        self._reading = None

    async def _read(self) -> str:
        started = self.timer()
        raw = await self.store.get(self.key)
        if raw is None:
            return await self.bump()
        version = raw.decode()
        self._known = (started + self.ttl_s, version)
        return version


def build_store_registry(settings: Settings, redis: Redis | None) -> StoreRegistry:
    """Each named store gets its own namespace in Redis, so one can be flushed without the others."""

    def factory(name: str) -> Store:
        if redis is None:
            return LocalStore()
        return RedisStore(redis, namespace=f"{settings.redis.prefix}:{name}", handle_client_shutdown=False)

    return StoreRegistry(default_factory=factory)


def connect_redis(settings: Settings) -> Redis | None:
    if settings.redis.url is None:
        return None
    client: Redis = Redis.from_url(settings.redis.url)
    return client
