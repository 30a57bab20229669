"""Run a script on a fresh SQLite database (the demo's engine): Piccolo binds one engine per process, so the
script runs in a child process with DATABASE_URL pointing at a new file; its last line of output is JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def run_on_sqlite(script: str, tmp_path: Path) -> Any:
    """The JSON the script printed last; fails the test with the script's errors otherwise."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'test.sqlite'}", "VAR_DIR": str(tmp_path)}
    run = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])
