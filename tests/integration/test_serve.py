"""`python -m app serve`, the container's command: WEB_CONCURRENCY processes sharing Redis and PostgreSQL."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

from app.settings import Settings
from tests.servers import live_server, server_env


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def test_serve_starts_web_concurrency_processes(tmp_path: Path, settings: Settings) -> None:
    env = server_env(VAR_DIR=str(tmp_path), WEB_CONCURRENCY="2", REDIS_PREFIX=f"{settings.redis.prefix}-serve")
    with live_server([sys.executable, "-m", "app", "serve"], env, tmp_path / "serve.log") as server:
        ready = httpx.get(f"{server.url}/health/ready").json()
        assert ready == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}
        assert len(_children(server.process.pid)) >= 2, server.log()  # uvicorn's supervisor and its workers
        with httpx.Client(base_url=server.url) as client:
            first = client.get("/catalog")
            assert first.status_code == 200 and "recurra_session" not in first.headers.get("set-cookie", "")
            assert all(client.get("/catalog").status_code == 200 for _ in range(20))
