"""The scenarios again on the demo's engine: the same tests in a child run on a throwaway SQLite file (Piccolo
binds one engine per process, so the other engine needs another process). The billing run's raw SQL, its
customer-time arithmetic and its writers taking turns on SQLite's one write lock are what this catches."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ON_SQLITE

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


@pytest.mark.skipif(ON_SQLITE, reason="this is the child run on SQLite")
def test_the_scenarios_pass_on_sqlite() -> None:
    scenarios = [str(p.relative_to(ROOT)) for p in sorted(HERE.glob("test_*.py")) if p.name != Path(__file__).name]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", *scenarios, "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env={**os.environ, "RECURRA_TEST_DATABASE": "sqlite"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    summary = run.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"\d+ passed(, \d+ warnings?)? in .*", summary), summary  # none skipped, none failed
