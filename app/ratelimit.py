"""Fixed-window rate limits, shared by every process through Redis when it is configured.

Windows are counted on ``app.clock`` time so tests can step past them; Redis expiry only cleans up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from redis.asyncio import Redis

from app import clock


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    remaining: int
    retry_after_s: int

    @property
    def retry_after_minutes(self) -> int:
        return max(1, math.ceil(self.retry_after_s / 60))


class RateLimiter:
    def __init__(self, redis: Redis | None, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix
        self._memory: dict[str, int] = {}

    def _window(self, key: str, window_s: int) -> tuple[str, int]:
        now = clock.now().timestamp()
        start = int(now // window_s) * window_s
        return f"{self.prefix}:rl:{key}:{start}", max(1, math.ceil(start + window_s - now))

    async def _count(self, slot: str) -> int:
        if self.redis is None:
            return self._memory.get(slot, 0)
        value = await self.redis.get(slot)
        return int(value or 0)

    async def peek(self, key: str, limit: int, window_s: int) -> RateDecision:
        """Would one more attempt be allowed? Counts nothing."""
        slot, retry_after = self._window(key, window_s)
        used = await self._count(slot)
        return RateDecision(used < limit, max(0, limit - used), 0 if used < limit else retry_after)

    async def hit(self, key: str, limit: int, window_s: int) -> RateDecision:
        """Count one attempt; refused once ``limit`` attempts were counted in the current window."""
        slot, retry_after = self._window(key, window_s)
        if self.redis is None:
            self._memory = {k: v for k, v in self._memory.items() if not self._expired(k)}
            used = self._memory[slot] = self._memory.get(slot, 0) + 1
        else:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.incr(slot)
                pipe.expire(slot, window_s + 5)
                used, _ = await pipe.execute()
        allowed = used <= limit
        return RateDecision(allowed, max(0, limit - used), 0 if allowed else retry_after)

    async def reset(self, key: str, window_s: int) -> None:
        slot, _ = self._window(key, window_s)
        if self.redis is None:
            self._memory.pop(slot, None)
        else:
            await self.redis.delete(slot)

    def _expired(self, slot: str) -> bool:
        # slot = prefix:rl:<key>:<window start>; the window length is not in the slot, so keep a day at most
        start = int(slot.rsplit(":", 1)[1])
        return start < clock.now().timestamp() - 86400
