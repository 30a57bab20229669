"""Cached portal pages with versioned keys: the catalog's, and the help centre's (each its own store and version).

Every cached page's key carries its cache's version; any change (for the catalog: an edit in the admin, a
scheduled item publishing, a plan's features changing) sets a new version, so every older page is unreachable at
once and simply expires. A page is cached per entitlement set (``Entitlements.key``: "anon", "none", "sub:a,b"), not
per customer. A hit runs no SQL: it reads the version from the store (at most once a second where the store is
shared, ``app.stores.StoreVersion``), then the page from this process's own copy of recently served pages, or from the
store (shared by every web process through Redis) on a first visit.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from litestar.stores.base import Store

from app.stores import StoreVersion

CATALOG_VERSION_KEY = "catalog:version"


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


class PageCache:
    # Pages kept decoded in each process, most recently served first out last: about 15 MB of 15 kB pages.
    LOCAL_PAGES = 1024

    def __init__(
        self, store: Store, ttl_s: int, version_ttl_s: float = 0.0, version_key: str = CATALOG_VERSION_KEY
    ) -> None:
        self.store = store
        self.ttl_s = ttl_s
        self.versions = StoreVersion(store, version_key, version_ttl_s)
        # key -> (monotonic deadline, page); keys carry the version, so a stale page is never found here
        self._local: OrderedDict[str, tuple[float, CachedPage]] = OrderedDict()

    async def version(self) -> str:
        return await self.versions.current()

    def forget_local(self) -> None:
        """Drop this process's copies and its last read of the version: the next request asks the store (after
        the store was emptied, say, a copy kept here would be served for up to ``version_ttl_s``)."""
        self._local.clear()
        self.versions.forget()

    async def bump(self) -> str:
        """A new version: every page cached so far is stale from now on (in other processes, within
        ``version_ttl_s``)."""
        return await self.versions.bump()

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
