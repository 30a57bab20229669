"""Cached catalog pages with versioned keys.

Every cached page's key carries the catalog version; any catalog change (an edit in the admin, a scheduled item
publishing, a plan's features changing) sets a new version, so every older page is unreachable at once and
simply expires. A page is cached per entitlement set (``Entitlements.key``: "anon", "none", "sub:a,b"), not
per customer. A hit runs no SQL: it reads the version from the store (at most once a second where the store is
shared, SHARED_VERSION_TTL_S), then the page from this process's own copy of recently served pages, or from the
store (shared by every web process through Redis) on a first visit.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from litestar.stores.base import Store

VERSION_KEY = "catalog:version"
# Where web processes share the store (Redis), each reads the version at most once a second: a staff edit shows
# at once in the process that made it and within a second in the others, and a cached page costs no round trip.
# (Reading it on every hit cost 3,235 against 4,194 requests/s with two processes; README, Performance.)
SHARED_VERSION_TTL_S = 1.0


@dataclass(frozen=True, slots=True)
class CachedPage:
    """A page's HTML and what its handler needs to know about it (JSON-able)."""

    html: str
    meta: dict[str, Any] = field(default_factory=dict)

    def encode(self) -> bytes:
        # One line of JSON, then the HTML as it is: decoding a 15 kB page out of a JSON string cost a third of a hit.
        return json.dumps(self.meta).encode() + b"\n" + self.html.encode()

    @classmethod
    def decode(cls, raw: bytes) -> CachedPage:
        meta, _, html = raw.partition(b"\n")
        return cls(html.decode(), json.loads(meta))


class CatalogCache:
    # Pages kept decoded in each process, most recently served first out last: about 15 MB of 15 kB pages.
    LOCAL_PAGES = 1024

    def __init__(self, store: Store, ttl_s: int, version_ttl_s: float = 0.0) -> None:
        self.store = store
        self.ttl_s = ttl_s
        self.version_ttl_s = version_ttl_s
        self._version: tuple[float, str] | None = None
        self._reading: asyncio.Future[str] | None = None
        # key -> (monotonic deadline, page); keys carry the version, so a stale page is never found here
        self._local: OrderedDict[str, tuple[float, CachedPage]] = OrderedDict()

    async def version(self) -> str:
        cached = self._version
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        if not self.version_ttl_s:
            return await self._read_version()
        # One read for every request that finds the version expired at once (a hundred in flight would each
        # open a connection to Redis and stall together).
        if self._reading is None:
            self._reading = asyncio.ensure_future(self._read_version())
            self._reading.add_done_callback(self._read_done)
        return await asyncio.shield(self._reading)

    def _read_done(self, _: asyncio.Future[str]) -> None:
        self._reading = None

    async def _read_version(self) -> str:
        started = time.monotonic()
        raw = await self.store.get(VERSION_KEY)
        if raw is None:
            # A store that lost the key (flushed, restarted) starts a new version: never one a process may still
            # hold pages of. Two processes racing here each set one; the last write wins for both.
            return await self.bump()
        version = raw.decode()
        self._version = (started + self.version_ttl_s, version)
        return version

    async def bump(self) -> str:
        """A new catalog version: every cached page is stale from now on."""
        version = uuid.uuid4().hex[:12]
        await self.store.set(VERSION_KEY, version)
        self._version = (time.monotonic() + self.version_ttl_s, version)
        return version

    @staticmethod
    def page_key(version: str, kind: str, audience: str, params: Any) -> str:
        digest = hashlib.sha256(json.dumps([audience, params], sort_keys=True).encode()).hexdigest()[:24]
        return f"page:{version}:{kind}:{digest}"

    async def get_or_build(
        self, kind: str, audience: str, params: Any, build: Callable[[], Awaitable[CachedPage]]
    ) -> CachedPage:
        """The cached page for ``audience`` and ``params``, built and stored on a miss."""
        key = self.page_key(await self.version(), kind, audience, params)
        local = self._local.get(key)
        if local is not None and local[0] > time.monotonic():
            self._local.move_to_end(key)
            return local[1]
        raw = await self.store.get(key)
        if raw is not None:
            page = CachedPage.decode(raw)
        else:
            page = await build()
            await self.store.set(key, page.encode(), expires_in=self.ttl_s)
        self._keep(key, page)
        return page

    def _keep(self, key: str, page: CachedPage) -> None:
        # A page copied from the store may be older than ttl_s allows here: it still retires with the version.
        self._local[key] = (time.monotonic() + self.ttl_s, page)
        self._local.move_to_end(key)
        while len(self._local) > self.LOCAL_PAGES:
            self._local.popitem(last=False)
