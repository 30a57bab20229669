"""The catalog page cache: versioned keys in a shared store, and each process's own copy of pages it served."""

from __future__ import annotations

import asyncio

from app.content.cache import CachedPage, PageCache
from app.stores import LocalStore


class Builder:
    def __init__(self, html: str) -> None:
        self.html = html
        self.calls = 0

    async def __call__(self) -> CachedPage:
        self.calls += 1
        return CachedPage(self.html, {"readable": True})


async def test_a_page_built_by_one_process_is_served_by_another_from_the_store() -> None:
    store = LocalStore()  # stands for Redis: what both processes share
    web1, web2 = PageCache(store, 60), PageCache(store, 60)
    build = Builder("<p>one\nline two</p>")
    first = await web1.get_or_build("item", "anon", "slug", build)
    second = await web2.get_or_build("item", "anon", "slug", build)
    assert build.calls == 1
    assert first == second == CachedPage("<p>one\nline two</p>", {"readable": True})


async def test_a_new_version_retires_every_processs_copies() -> None:
    store = LocalStore()
    web1, web2 = PageCache(store, 60), PageCache(store, 60)
    old, new = Builder("old"), Builder("new")
    await web1.get_or_build("catalog", "anon", [1], old)
    await web2.get_or_build("catalog", "anon", [1], old)
    await web1.bump()  # a staff edit in the first process
    assert (await web2.get_or_build("catalog", "anon", [1], new)).html == "new"
    assert (await web1.get_or_build("catalog", "anon", [1], new)).html == "new"
    assert (old.calls, new.calls) == (1, 1)


async def test_each_process_keeps_a_bounded_number_of_pages() -> None:
    cache = PageCache(LocalStore(), 60)
    cache.LOCAL_PAGES = 3
    for n in range(5):
        await cache.get_or_build("item", "anon", n, Builder(str(n)))
    version = await cache.version()
    assert list(cache._local) == [PageCache.page_key(version, "item", "anon", n) for n in (2, 3, 4)]


async def test_a_store_that_lost_its_keys_starts_a_new_version() -> None:
    store = LocalStore()
    cache = PageCache(store, 60)
    await cache.get_or_build("catalog", "anon", [1], Builder("before"))
    await store.delete_all()  # Redis flushed: this process still holds its copy of the page
    assert (await cache.get_or_build("catalog", "anon", [1], Builder("after"))).html == "after"


async def test_with_a_version_ttl_other_processes_see_a_change_once_it_runs_out() -> None:
    store = LocalStore()
    web1, web2 = PageCache(store, 60, version_ttl_s=1.0), PageCache(store, 60, version_ttl_s=1.0)
    elapsed = [0.0]
    web2.versions.timer = lambda: elapsed[0]  # the second process's clock, moved by hand: no sleeping
    await web2.get_or_build("catalog", "anon", [1], Builder("old"))
    await web1.bump()  # a staff edit in the first process: there at once
    assert (await web1.get_or_build("catalog", "anon", [1], Builder("new"))).html == "new"
    elapsed[0] = 0.999
    assert (await web2.get_or_build("catalog", "anon", [1], Builder("unused"))).html == "old"  # within the ttl
    elapsed[0] = 1.0
    assert (await web2.get_or_build("catalog", "anon", [1], Builder("unused"))).html == "new"


async def test_requests_that_find_the_version_expired_together_read_it_once() -> None:
    class CountingStore(LocalStore):
        reads = 0

        async def get(self, key: str, renew_for: int | None = None) -> bytes | None:
            if key == "catalog:version":
                CountingStore.reads += 1
                await asyncio.sleep(0.01)  # a round trip to Redis
            return await super().get(key)

    store = CountingStore()
    version = await PageCache(store, 60, version_ttl_s=60).bump()  # another process
    cache = PageCache(store, 60, version_ttl_s=60)  # this one knows no version yet
    assert await asyncio.gather(*(cache.version() for _ in range(50))) == [version] * 50
    assert CountingStore.reads == 1
