"""The demo's path: SQLite, no Redis, the embedded sandbox answering and webhooks landing concurrently."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.servers import ROOT, live_server, server_env


def test_payments_on_the_embedded_defaults(tmp_path: Path) -> None:
    env = server_env(VAR_DIR=str(tmp_path), DATABASE_URL="", REDIS_URL="", RECURRA_ENV="development")
    command = [sys.executable, "-m", "app", "run"]
    with live_server(command, env, tmp_path / "run.log") as server:
        driven = subprocess.run(
            [sys.executable, "-m", "tests.integration.payments.sqlite_driver"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert driven.returncode == 0, driven.stderr + server.log()
    summary = json.loads(driven.stdout.strip().splitlines()[-1])
    assert (summary["capture"], summary["charge"], summary["refund"]) == ("succeeded", "succeeded", "succeeded")
    # Every webhook was answered and handled once. PayPal's refund notice races the refund call's own answer:
    # heard first, it settles our pending refund ("processed"); heard second, it finds it known ("ignored").
    # Either way there is one refund, recorded once.
    [refund_notice] = [status for kind, status in summary["webhooks"] if kind == "PAYMENT.CAPTURE.REFUNDED"]
    assert refund_notice in {"processed", "ignored"}
    assert summary["webhooks"] == [
        ["PAYMENT.CAPTURE.COMPLETED", "processed"],
        ["PAYMENT.CAPTURE.COMPLETED", "processed"],
        ["PAYMENT.CAPTURE.REFUNDED", refund_notice],
        ["VAULT.PAYMENT-TOKEN.CREATED", "processed"],
    ]
    assert summary["refunds"] == [["succeeded", 500, True]]
