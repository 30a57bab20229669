"""Cached catalog pages with versioned keys.

Every cached page's key carries the catalog version; any catalog change (an edit in the admin, a scheduled item
publishing, a plan's features changing) sets a new version, so every older page is unreachable at once and
simply expires. A page is cached per entitlement set (``Entitlements.key``: "anon", "none", "sub:a,b"), not
per customer. A hit reads two keys from the store and runs no SQL.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from litestar.stores.base import Store

VERSION_KEY = "catalog:version"


class CatalogCache:
    def __init__(self, store: Store, ttl_s: int) -> None:
        self.store = store
        self.ttl_s = ttl_s

    async def version(self) -> str:
        raw = await self.store.get(VERSION_KEY)
        return raw.decode() if raw else "0"

    async def bump(self) -> str:
        """A new catalog version: every cached page is stale from now on."""
        version = uuid.uuid4().hex[:12]
        await self.store.set(VERSION_KEY, version)
        return version

    @staticmethod
    def page_key(version: str, kind: str, audience: str, params: Any) -> str:
        digest = hashlib.sha256(json.dumps([audience, params], sort_keys=True).encode()).hexdigest()[:24]
        return f"page:{version}:{kind}:{digest}"

    async def get_or_build(
        self, kind: str, audience: str, params: Any, build: Callable[[], Awaitable[dict[str, Any]]]
    ) -> dict[str, Any]:
        """The cached page (a JSON-able dict) for ``audience`` and ``params``, built and stored on a miss."""
        key = self.page_key(await self.version(), kind, audience, params)
        raw = await self.store.get(key)
        if raw is not None:
            cached: dict[str, Any] = json.loads(raw)
            return cached
        page = await build()
        await self.store.set(key, json.dumps(page), expires_in=self.ttl_s)
        return page
