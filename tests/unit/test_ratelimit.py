"""The in-process fixed-window limiter, driven by a frozen clock (no sleeping)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.clock import frozen_at
from app.ratelimit import MemoryRateLimiter, RateDecision

T0 = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)


async def test_allows_the_limit_then_refuses_until_the_window_ends() -> None:
    limiter = MemoryRateLimiter()
    with frozen_at(T0):
        assert await limiter.hit("k", limit=2, window_s=60) == RateDecision(True, 0, 1)
        assert await limiter.hit("k", limit=2, window_s=60) == RateDecision(True, 0, 0)
        assert await limiter.hit("k", limit=2, window_s=60) == RateDecision(False, 60, 0)
    with frozen_at(T0 + timedelta(seconds=45.5)):
        assert await limiter.hit("k", limit=2, window_s=60) == RateDecision(False, 15, 0)  # rounded up
    with frozen_at(T0 + timedelta(seconds=60)):
        assert (await limiter.hit("k", limit=2, window_s=60)).allowed  # a new window


async def test_keys_are_counted_apart() -> None:
    limiter = MemoryRateLimiter()
    with frozen_at(T0):
        assert (await limiter.hit("a", limit=1, window_s=60)).allowed
        assert not (await limiter.hit("a", limit=1, window_s=60)).allowed
        assert (await limiter.hit("b", limit=1, window_s=60)).allowed
