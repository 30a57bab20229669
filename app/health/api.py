from __future__ import annotations

import asyncio
import logging
from typing import Any

import msgspec
from litestar import Controller, Response, get
from litestar.datastructures import State

from app.db import ping_database

log = logging.getLogger("recurra.health")
CHECK_TIMEOUT_S = 2.0


class HealthStatus(msgspec.Struct):
    status: str
    checks: dict[str, str] = msgspec.field(default_factory=dict)


async def _check(name: str, probe: Any) -> tuple[str, str]:
    try:
        await asyncio.wait_for(probe, CHECK_TIMEOUT_S)
    except Exception as exc:
        log.warning("readiness check %s failed: %s", name, exc)
        return name, "failing"
    return name, "ok"


class HealthController(Controller):
    path = "/health"
    tags = ["health"]

    @get("/live", summary="The process is up")
    async def live(self) -> HealthStatus:
        return HealthStatus(status="ok")

    @get("/ready", summary="The process can serve: database (and Redis, when configured) answer")
    async def ready(self, state: State) -> Response[HealthStatus]:
        probes = [_check("database", ping_database())]
        if state.redis is not None:
            probes.append(_check("redis", state.redis.ping()))
        checks = dict(await asyncio.gather(*probes))
        healthy = all(v == "ok" for v in checks.values())
        return Response(
            HealthStatus(status="ok" if healthy else "failing", checks=checks),
            status_code=200 if healthy else 503,
        )
