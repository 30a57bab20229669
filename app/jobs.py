"""Background jobs: one interface, two engines.

With REDIS_URL set, jobs go to arq and a separate worker process (``python -m app worker``) runs them.
Without it, ``InProcessJobQueue`` runs the very same job functions, with the same context, on the web
process's event loop, and ticks the same cron schedule: the demo needs no Redis, and no job is written twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any, Protocol

from arq import ArqRedis, Retry
from arq.cron import CronJob

from app import clock

log = logging.getLogger("recurra.jobs")

JobFunction = Callable[..., Awaitable[Any]]
JobContext = dict[str, Any]
DEDUPE_WINDOW_S = 3600.0  # as long as arq keeps a result, and so refuses a repeated job id
MAX_TRIES = 5


class JobQueue(Protocol):
    async def enqueue(
        self, function: str, *args: Any, job_id: str | None = None, defer_by: timedelta | None = None
    ) -> bool:
        """Queue ``function(ctx, *args)``; False when a job with ``job_id`` is already known."""
        ...


class ArqJobQueue:
    def __init__(self, pool: ArqRedis, queue_name: str) -> None:
        self.pool = pool
        self.queue_name = queue_name

    async def enqueue(
        self, function: str, *args: Any, job_id: str | None = None, defer_by: timedelta | None = None
    ) -> bool:
        job = await self.pool.enqueue_job(
            function, *args, _job_id=job_id, _defer_by=defer_by, _queue_name=self.queue_name
        )
        return job is not None


class InProcessJobQueue:
    def __init__(self, functions: Sequence[JobFunction], ctx: JobContext) -> None:
        self.functions: Mapping[str, JobFunction] = {fn.__name__: fn for fn in functions}
        self.ctx = ctx
        self._seen: dict[str, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def enqueue(
        self, function: str, *args: Any, job_id: str | None = None, defer_by: timedelta | None = None
    ) -> bool:
        if function not in self.functions:
            raise KeyError(f"no job function named {function!r}")
        horizon = time.monotonic() - DEDUPE_WINDOW_S
        self._seen = {k: t for k, t in self._seen.items() if t > horizon}
        if job_id is not None:
            if job_id in self._seen:
                return False
            self._seen[job_id] = time.monotonic()
        delay = defer_by.total_seconds() if defer_by else 0.0
        self._spawn(self._run(function, args, job_id, delay))
        return True

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, function: str, args: tuple[Any, ...], job_id: str | None, delay: float) -> None:
        for job_try in range(1, MAX_TRIES + 1):
            if delay:
                await asyncio.sleep(delay)
            try:
                await self.functions[function]({**self.ctx, "job_id": job_id, "job_try": job_try}, *args)
                return
            except Retry as retry:
                delay = retry.defer_score / 1000 if retry.defer_score else 1.0
                log.warning("job %s try %d asked to retry in %.1fs", function, job_try, delay)
            except Exception:
                log.exception("job %s failed (try %d)", function, job_try)
                return
        log.error("job %s gave up after %d tries", function, MAX_TRIES)

    async def run_cron(self, cron_jobs: Sequence[CronJob]) -> None:
        """Tick ``cron_jobs`` on arq's own schedule until cancelled."""
        now = clock.real_now()  # scheduling wall time, not business time: test clocks must not stall it
        for job in cron_jobs:
            job.next_run = now if job.run_at_startup else None
            if job.next_run is None:
                job.calculate_next(now)
        while True:
            now = clock.real_now()
            for job in cron_jobs:
                if job.next_run is not None and job.next_run <= now:
                    job.calculate_next(now)
                    await self.enqueue(job.coroutine.__qualname__, job_id=f"cron:{job.name}:{int(now.timestamp())}")
            await asyncio.sleep(0.5)

    def start_cron(self, cron_jobs: Sequence[CronJob]) -> None:
        self._spawn(self.run_cron(cron_jobs))

    async def drain(self) -> None:
        """Wait until every queued job (not the cron loop) has finished: tests use this."""
        while pending := [t for t in self._tasks if not t.done() and t.get_coro().__name__ == "_run"]:  # type: ignore[union-attr]
            await asyncio.gather(*pending, return_exceptions=True)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
