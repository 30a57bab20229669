"""Scenarios through the whole billing engine: the PayPal sandbox in a live server (the payments tests'
fixtures), and the worker's jobs run by the embedded in-process engine with mail kept in a local outbox."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from app.jobs import InProcessJobQueue
from app.mail import mailer_for
from app.payments.paypal import PayPalGateway
from app.settings import load_settings
from tasks import worker
from tests.sandbox_fixtures import api_url, gateway, paypal_server, sandbox  # noqa: F401 - fixtures


@pytest.fixture
async def engine(tmp_path: Path, gateway: PayPalGateway) -> AsyncIterator[dict[str, Any]]:  # noqa: F811
    """A job context as the worker builds it (the real charger on the sandbox gateway), with the in-process
    job queue running the same job functions; e-mail lands as .eml files under ``ctx["outbox"]``."""
    base = load_settings()
    outbox = tmp_path / "outbox"
    settings = replace(base, mail=replace(base.mail, smtp_url=None, outbox_dir=outbox))
    ctx: dict[str, Any] = {
        "settings": settings,
        "mailer": mailer_for(settings.mail),
        "gateway": gateway,
        **worker.chargers(gateway, settings.billing),
        "outbox": outbox,
    }
    queue = InProcessJobQueue(worker.FUNCTIONS, ctx)
    ctx["queue"] = queue
    yield ctx
    await queue.aclose()


@pytest.fixture(autouse=True)
def _no_error_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """A scenario is a normal life: a job that failed and was retried (or a 'database is locked') is a defect even
    when the story's end state comes out right."""
    yield
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.WARNING and r.name.startswith("recurra")]
    assert not errors, "\n".join(f"{r.levelname} {r.name}: {r.getMessage()}" for r in errors)
