"""Fixed-window rate limits: count hits per key in windows of ``window_s`` seconds.

One small API for every limit Recurra keeps (partner API keys, log-in attempts, ...)::

    decision = await limiter.hit("partner-key:rk_ab12cd34", limit=600, window_s=60)
    if not decision.allowed:
        raise RateLimited(..., headers={"Retry-After": str(decision.retry_after_s)})

Redis when configured, so every web replica shares the counts; otherwise a dictionary in this process
(the embedded single-process default). A fixed window lets a client send up to twice the limit across a
window edge; that is accepted here in exchange for one Redis round trip and one key per client.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis

from app import clock
from app.settings import Settings

# The in-process limiter forgets finished windows once it holds this many keys, so memory stays bounded.
MEMORY_PRUNE_AT = 10_000


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    retry_after_s: int  # seconds until the window resets; 0 when allowed
    remaining: int  # hits left in this window


def _decide(count: int, limit: int, seconds_left: float) -> RateDecision:
    if count <= limit:
        return RateDecision(allowed=True, retry_after_s=0, remaining=limit - count)
    return RateDecision(allowed=False, retry_after_s=max(1, math.ceil(seconds_left)), remaining=0)


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int, window_s: int) -> RateDecision:
        """Count one hit for ``key`` and say whether it is within ``limit`` hits per ``window_s`` seconds."""
        ...


class RedisRateLimiter:
    """Counts in Redis: INCR a per-key counter that expires with its window (Redis keeps the time, so
    replicas with skewed clocks still agree)."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix

    async def hit(self, key: str, limit: int, window_s: int) -> RateDecision:
        name = f"{self._prefix}:ratelimit:{key}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expire(name, window_s, nx=True)  # only the first hit of a window starts its clock
            pipe.pttl(name)
            count, _, ttl_ms = await pipe.execute()
        return _decide(int(count), limit, max(int(ttl_ms), 0) / 1000)


class MemoryRateLimiter:
    """Counts in this process: right for the embedded single-process default, wrong behind several
    replicas (each would allow the full limit)."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[float, int]] = {}  # key -> (window end as a timestamp, hits)

    async def hit(self, key: str, limit: int, window_s: int) -> RateDecision:
        now = clock.now().timestamp()
        ends_at, count = self._windows.get(key, (0.0, 0))
        if ends_at <= now:
            ends_at, count = now + window_s, 0
            if len(self._windows) >= MEMORY_PRUNE_AT:
                self._prune(now)
        count += 1
        self._windows[key] = (ends_at, count)
        return _decide(count, limit, ends_at - now)

    def _prune(self, now: float) -> None:
        self._windows = {k: v for k, v in self._windows.items() if v[0] > now}


def build_rate_limiter(settings: Settings, redis: Redis | None) -> RateLimiter:
    if redis is None:
        return MemoryRateLimiter()
    return RedisRateLimiter(redis, settings.redis.prefix)
