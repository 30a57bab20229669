from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx
import pytest
from arq import Worker, create_pool
from arq.connections import RedisSettings
from litestar import Litestar

from app.main import create_app
from app.settings import Settings, load_settings
from tasks import worker as tasks_worker
from tests.sandbox_fixtures import api_url, gateway, paypal_server, sandbox  # noqa: F401 - fixtures
from tests.smtp import Mailbox

BASE_URL = "http://testserver.local"


@pytest.fixture(autouse=True)
def _isolated(clean_db: None) -> None:
    """Integration tests always run on clean tables."""


@pytest.fixture(autouse=True)
def _empty_mailbox(mailbox: Mailbox) -> None:
    mailbox.messages.clear()


@pytest.fixture(scope="session")
def settings(mailbox: Mailbox) -> Settings:
    loaded = load_settings()
    return replace(loaded, mail=replace(loaded.mail, smtp_url=mailbox.url))


@pytest.fixture(scope="session")
def app(settings: Settings) -> Litestar:
    return create_app(settings)


def asgi_client(app: Litestar) -> httpx.AsyncClient:
    """An HTTP client that calls the app on this event loop. (Litestar's AsyncTestClient runs the lifespan
    in a separate thread and loop, which would leave the database pool bound to the wrong loop.)"""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)


@asynccontextmanager
async def running(app: Litestar) -> AsyncIterator[None]:
    """Run the app's lifespan in a task of its own: pytest-asyncio sets a fixture up and tears it down in
    different tasks, and the lifespan's task group must be left from the task that entered it."""
    started, stop = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with app.lifespan():
            started.set()
            await stop.wait()

    task = asyncio.create_task(hold())
    await asyncio.wait([task, asyncio.create_task(started.wait())], return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()  # start-up failed: raise its error here
    try:
        yield
    finally:
        stop.set()
        await task


@pytest.fixture(scope="session")
async def worker(settings: Settings) -> AsyncIterator[Worker]:
    """A real arq worker on Redis, running beside the tests on their event loop (no cron: tests tick it)."""
    assert settings.redis.url is not None
    pool = await create_pool(RedisSettings.from_dsn(settings.redis.url))

    async def startup(ctx: dict[str, Any]) -> None:
        tasks_worker.prepare(ctx, settings)  # the test process has its database open already

    arq_worker = Worker(
        functions=tasks_worker.FUNCTIONS,
        redis_pool=pool,
        queue_name=tasks_worker.queue_name(settings),
        on_startup=startup,
        poll_delay=0.02,
        handle_signals=False,
        max_jobs=20,
    )
    task = asyncio.create_task(arq_worker.async_run())
    yield arq_worker
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await arq_worker.close()


@pytest.fixture(scope="session")
async def client(app: Litestar, worker: Worker) -> AsyncIterator[httpx.AsyncClient]:
    async with running(app), asgi_client(app) as http:
        yield http


@pytest.fixture(autouse=True)
async def _fresh_browser_state(client: httpx.AsyncClient, app: Litestar, settings: Settings) -> AsyncIterator[None]:
    """Each test starts logged out, with no cached sessions and no rate-limit counts from earlier tests."""
    client.cookies.clear()
    yield
    redis = app.state.redis
    keys = [key async for key in redis.scan_iter(match=f"{settings.redis.prefix}:*")]
    if keys:
        await redis.delete(*keys)
    content = app.state.content
    for pages in (content.catalog, content.help):
        pages.forget_local()  # its copies of pages built on the emptied tables (kept up to a second otherwise)


@pytest.fixture
async def new_client(app: Litestar, client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """A second browser: its own cookies, the same running app."""
    async with asgi_client(app) as http:
        yield http
