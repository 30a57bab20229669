"""Key-value stores for sessions, cache and rate limits: Redis when configured, else in process."""

from __future__ import annotations

from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from litestar.stores.registry import StoreRegistry
from redis.asyncio import Redis

from app.settings import Settings


def build_store_registry(settings: Settings, redis: Redis | None) -> StoreRegistry:
    """Each named store gets its own namespace in Redis, so one can be flushed without the others."""

    def factory(name: str) -> Store:
        if redis is None:
            return MemoryStore()
        return RedisStore(redis, namespace=f"{settings.redis.prefix}:{name}", handle_client_shutdown=False)

    return StoreRegistry(default_factory=factory)


def connect_redis(settings: Settings) -> Redis | None:
    if settings.redis.url is None:
        return None
    client: Redis = Redis.from_url(settings.redis.url)
    return client
