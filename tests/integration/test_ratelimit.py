"""The Redis limiter: what several web replicas share."""

from __future__ import annotations

import uuid

from redis.asyncio import Redis

from app.ratelimit import RedisRateLimiter, build_rate_limiter
from app.settings import Settings


async def test_redis_limiter_counts_per_key_and_says_when_to_retry(settings: Settings) -> None:
    assert settings.redis.url is not None
    redis = Redis.from_url(settings.redis.url)
    try:
        limiter = build_rate_limiter(settings, redis)
        assert isinstance(limiter, RedisRateLimiter)
        key = f"test:{uuid.uuid4().hex}"
        decisions = [await limiter.hit(key, limit=2, window_s=30) for _ in range(3)]
        assert [d.allowed for d in decisions] == [True, True, False]
        assert [d.remaining for d in decisions] == [1, 0, 0]
        assert 1 <= decisions[2].retry_after_s <= 30
        assert (await limiter.hit(f"{key}:other", limit=2, window_s=30)).allowed
        # The counter carries the window as its expiry, so Redis forgets it by itself.
        [name] = [k async for k in redis.scan_iter(match=f"{settings.redis.prefix}:ratelimit:{key}:[0-9]*")]
        ttl = await redis.ttl(name)
        assert 0 < ttl <= 30
    finally:
        await redis.aclose()
