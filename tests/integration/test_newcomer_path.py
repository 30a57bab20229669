"""`make run`'s path on the embedded defaults: SQLite file, no Redis, in-process jobs, mail outbox."""

from __future__ import annotations

import re
import signal
import smtplib
import sqlite3
import sys
from email.message import EmailMessage
from pathlib import Path

import httpx

from tests.servers import accepts_connections, live_server, server_env, wait_until_ready
from tests.smtp import free_port


def test_run_on_embedded_defaults(tmp_path: Path) -> None:
    smtp_port = free_port()
    env = server_env(VAR_DIR=str(tmp_path), DATABASE_URL="", REDIS_URL="", RECURRA_ENV="development",
                     INBOUND_SMTP_PORT=str(smtp_port))  # fmt: skip
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
        # The support mail listener runs beside the demo: a stranger's mail becomes an unverified ticket.
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = "visitor@example.net", "support@recurra.localhost", "Hello"
        mail.set_content("Do you have a student discount?")
        # The listener is a process of its own, started by `run`: wait until it accepts connections.
        wait_until_ready(server.process, server.log_path, lambda: accepts_connections(smtp_port))
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as smtp:
            smtp.send_message(mail)
        with sqlite3.connect(tmp_path / "recurra.sqlite") as db:
            assert db.execute("SELECT subject, verified, requester_email FROM ticket").fetchall() == [
                ("Hello", 0, "visitor@example.net")
            ]
        server.process.send_signal(signal.SIGINT)
        assert server.process.wait(timeout=15) == 0
