"""Fixed-window rate limits: count hits per key in windows of ``window_s`` seconds.

One small API for every limit Recurra keeps (partner API keys, log-in, reset and 2FA attempts)::

    decision = await limiter.hit("partner-key:rk_ab12cd34", limit=600, window_s=60)
    if not decision.allowed:
        raise RateLimited(..., headers={"Retry-After": str(decision.retry_after_s)})

Redis when configured, so every web replica shares the counts; otherwise a dictionary in this process (the
embedded single-process default). Windows are aligned to ``app.clock`` time (a window is [k*w, (k+1)*w)), so
every replica agrees on them and tests can step past one with a frozen clock; Redis expiry only cleans up.
A fixed window lets a client send up to twice the limit across a window edge; that is accepted here in
exchange for one Redis round trip and one key per client.
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


@dataclass(frozen=True, slots=True)
class _Window:
    slot: int  # the window's start, in seconds since the epoch
    seconds_left: float

    @classmethod
    def at_now(cls, window_s: int) -> _Window:
        now = clock.now().timestamp()
        slot = int(now // window_s) * window_s
        return cls(slot, slot + window_s - now)


def _decide(count: int, limit: int, window: _Window) -> RateDecision:
    if count <= limit:
        return RateDecision(allowed=True, retry_after_s=0, remaining=limit - count)
    return RateDecision(allowed=False, retry_after_s=max(1, math.ceil(window.seconds_left)), remaining=0)


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int, window_s: int) -> RateDecision:
        """Count one hit for ``key`` and say whether it is within ``limit`` hits per ``window_s`` seconds."""
        ...

    async def peek(self, key: str, limit: int, window_s: int) -> RateDecision:
        """Would one more hit be allowed? Counts nothing."""
        ...

    async def reset(self, key: str, window_s: int) -> None:
        """Forget the current window's hits for ``key`` (a successful log-in clears its failures)."""
        ...


class RedisRateLimiter:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix

    def _name(self, key: str, window: _Window) -> str:
        return f"{self._prefix}:ratelimit:{key}:{window.slot}"

    async def hit(self, key: str, limit: int, window_s: int) -> RateDecision:
        window = _Window.at_now(window_s)
        name = self._name(key, window)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expire(name, window_s, nx=True)
            count, _ = await pipe.execute()
        return _decide(int(count), limit, window)

    async def peek(self, key: str, limit: int, window_s: int) -> RateDecision:
        window = _Window.at_now(window_s)
        count = int(await self._redis.get(self._name(key, window)) or 0)
        return _decide(count + 1, limit, window)

    async def reset(self, key: str, window_s: int) -> None:
        await self._redis.delete(self._name(key, _Window.at_now(window_s)))


class MemoryRateLimiter:
    """Counts in this process: right for the embedded single-process default, wrong behind several
    replicas (each would allow the full limit)."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], tuple[float, int]] = {}  # (key, slot) -> (window end, hits)

    async def hit(self, key: str, limit: int, window_s: int) -> RateDecision:
        window = _Window.at_now(window_s)
        if len(self._counts) >= MEMORY_PRUNE_AT:
            now = clock.now().timestamp()
            self._counts = {k: v for k, v in self._counts.items() if v[0] > now}
        _, count = self._counts.get((key, window.slot), (0.0, 0))
        self._counts[(key, window.slot)] = (window.slot + window_s, count + 1)
        return _decide(count + 1, limit, window)

    async def peek(self, key: str, limit: int, window_s: int) -> RateDecision:
        window = _Window.at_now(window_s)
        _, count = self._counts.get((key, window.slot), (0.0, 0))
        return _decide(count + 1, limit, window)

    async def reset(self, key: str, window_s: int) -> None:
        self._counts.pop((key, _Window.at_now(window_s).slot), None)


def build_rate_limiter(settings: Settings, redis: Redis | None) -> RateLimiter:
    if redis is None:
        return MemoryRateLimiter()
    return RedisRateLimiter(redis, settings.redis.prefix)
