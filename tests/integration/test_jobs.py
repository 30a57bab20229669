"""Background jobs run the same functions in process (demo) and in a real arq worker on Redis."""

from __future__ import annotations

import asyncio
import email
import email.policy
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from arq import Worker, create_pool
from arq.connections import RedisSettings

from app.jobs import ArqJobQueue, InProcessJobQueue
from app.mail import OutboxMailer, OutgoingMail, SmtpMailer
from app.settings import Settings
from tasks import worker
from tests.smtp import Mailbox, free_port

MAIL = OutgoingMail(to="ada@example.com", subject="Welcome", text="Hello Ada", html="<p>Hello Ada</p>", tag="welcome")


async def test_send_email_job_delivers_over_smtp(mailbox: Mailbox, settings: Settings) -> None:
    await worker.send_email({"settings": settings, "mailer": SmtpMailer(mailbox.url), "job_try": 1}, MAIL.to_job())
    assert len(mailbox.tagged("welcome")) == 1
    received = mailbox.tagged("welcome")[0]
    assert received["To"] == "ada@example.com"
    assert received["Subject"] == "Welcome"
    assert received["X-Recurra-Tag"] == "welcome"
    assert Mailbox.text(received).strip() == "Hello Ada"
    assert "<p>Hello Ada</p>" in Mailbox.html(received)


async def test_send_email_retries_when_the_server_is_down(settings: Settings) -> None:
    from arq import Retry

    ctx = {"settings": settings, "mailer": SmtpMailer(f"smtp://127.0.0.1:{free_port()}"), "job_try": 1}
    with pytest.raises(Retry):
        await worker.send_email(ctx, MAIL.to_job())
    with pytest.raises(OSError):  # after the last retry the failure surfaces (and is logged) instead
        await worker.send_email({**ctx, "job_try": 5}, MAIL.to_job())


async def test_in_process_queue_runs_jobs_and_dedupes_ids(tmp_path: Path, settings: Settings) -> None:
    queue = InProcessJobQueue(worker.FUNCTIONS, {"settings": settings, "mailer": OutboxMailer(tmp_path)})
    assert await queue.enqueue("send_email", MAIL.to_job(), job_id="welcome:1")
    assert not await queue.enqueue("send_email", MAIL.to_job(), job_id="welcome:1")
    await queue.drain()
    files = list(tmp_path.glob("*.eml"))
    assert len(files) == 1
    message = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert message["Subject"] == "Welcome"
    with pytest.raises(KeyError):
        await queue.enqueue("no_such_job")
    await queue.aclose()


async def test_in_process_queue_honours_deferral(tmp_path: Path, settings: Settings) -> None:
    queue = InProcessJobQueue(worker.FUNCTIONS, {"settings": settings, "mailer": OutboxMailer(tmp_path)})
    enqueued = time.monotonic()
    await queue.enqueue("send_email", MAIL.to_job(), defer_by=timedelta(seconds=0.3))
    await asyncio.sleep(0)  # the job's task has started: it waits instead of sending
    assert not list(tmp_path.glob("*.eml"))
    await queue.drain()
    assert len(list(tmp_path.glob("*.eml"))) == 1
    assert time.monotonic() - enqueued >= 0.3  # never sooner (later is allowed: a loaded machine)
    await queue.aclose()


async def test_arq_worker_runs_the_same_job(mailbox: Mailbox, settings: Settings) -> None:
    assert settings.redis.url is not None
    redis_settings = RedisSettings.from_dsn(settings.redis.url)
    pool = await create_pool(redis_settings)
    name = worker.queue_name(settings) + ":burst"  # not the queue the session's background worker serves
    try:
        queue = ArqJobQueue(pool, name)
        assert await queue.enqueue("send_email", MAIL.to_job(), job_id="arq-welcome:1")
        assert not await queue.enqueue("send_email", MAIL.to_job(), job_id="arq-welcome:1")

        async def startup(ctx: dict[str, Any]) -> None:
            ctx.update(worker.build_context(settings))
            ctx["mailer"] = SmtpMailer(mailbox.url)

        burst = Worker(
            functions=worker.FUNCTIONS, redis_pool=pool, queue_name=name, burst=True, poll_delay=0.05,
            on_startup=startup, handle_signals=False,
        )  # fmt: skip
        await burst.main()
        await burst.close()
        assert burst.jobs_complete == 1
        assert burst.jobs_failed == 0
    finally:
        await pool.aclose()
    assert [m["Subject"] for m in mailbox.tagged("welcome")] == ["Welcome"]
