"""`make run`'s path on the embedded defaults: SQLite file, no Redis, in-process jobs, mail outbox."""

from __future__ import annotations

import re
import signal
import sys
from pathlib import Path

import httpx

from tests.servers import live_server, server_env


def test_run_on_embedded_defaults(tmp_path: Path) -> None:
    env = server_env(VAR_DIR=str(tmp_path), DATABASE_URL="", REDIS_URL="", RECURRA_ENV="development")
    with live_server([sys.executable, "-m", "app", "run"], env, tmp_path / "run.log") as server:
        assert (tmp_path / "recurra.sqlite").exists()
        ready = httpx.get(f"{server.url}/health/ready").json()
        assert ready == {"status": "ok", "checks": {"database": "ok"}}  # no Redis configured, none checked
        home = httpx.get(server.url + "/")
        assert home.status_code == 200
        assert 'data-plan="pro-monthly"' in home.text
        printed = re.search(r"user 'admin', password '([^']+)'", server.log())
        assert printed, server.log()
        with httpx.Client(base_url=server.url) as client:
            client.get("/admin/")
            login = client.post(
                "/admin/public/login/",
                json={"username": "admin", "password": printed.group(1)},
                headers={"X-CSRFToken": client.cookies["csrftoken"]},
            )
            assert login.status_code == 200, login.text
            assert "plan" in client.get("/admin/api/tables/").json()
        assert httpx.get(f"{server.url}/dev/mail/").status_code == 200
        server.process.send_signal(signal.SIGINT)
        assert server.process.wait(timeout=15) == 0
