"""How Recurra's web processes are served: uvicorn's options in one place, for ``python -m app run``, ``python -m
app serve`` (the container) and the catalog bench."""

from __future__ import annotations

import gc
from typing import Any

from app.settings import Settings

# The standard library's event loop, not uvloop: with 200 connections on a saturated process, uvloop answered
# some connections far more often than others (warm catalog page: p99 5.9 s with uvloop, 0.37 s with asyncio,
# for about the same requests per second; bench/catalog.py, README's Performance section).
EVENT_LOOP = "asyncio"


def freeze_startup_heap(settings: Settings) -> None:
    """Move everything the process built at start-up (framework, routes, templates, pools) out of the garbage
    collector's sight: a full collection walked all of it, and under load each one stalled every request in
    flight (warm catalog page p99 228 ms with, 86 ms without; bench/catalog.py, README's Performance). Not in
    tests, whose one process builds hundreds of apps: frozen reference cycles are never freed."""
    if settings.environment == "test":
        return
    gc.collect()
    gc.freeze()


def web_processes(settings: Settings, requested: int | None = None) -> int:
    """Several processes need the state they share in Redis; without it, jobs, sessions and the page cache
    live in the one process."""
    if not settings.redis.enabled:
        return 1
    return requested or settings.web_concurrency


def uvicorn_options(settings: Settings, workers: int) -> dict[str, Any]:
    return {
        "host": settings.host,
        "port": settings.port,
        "workers": workers,
        "loop": EVENT_LOOP,
        # app.security.TrustedProxyMiddleware reads X-Forwarded-* (only from TRUSTED_PROXIES); uvicorn's own
        # handling would trust 127.0.0.1 by default and rewrite the client before ours sees it.
        "proxy_headers": False,
        # app.logs writes the access log, with the request id.
        "access_log": False,
        # WebSocket frames uvicorn buffers before the app sees them (its default is 16 MiB): chat frames are at most
        # 16,384 characters (app.support.chat_socket.MAX_FRAME_CHARS), four bytes each at worst.
        "ws_max_size": 64 * 1024,
        "log_config": None,
    }


def serve(settings: Settings, app: str = "app.asgi:app", workers: int | None = None) -> None:
    import uvicorn

    uvicorn.run(app, **uvicorn_options(settings, web_processes(settings, workers)))
