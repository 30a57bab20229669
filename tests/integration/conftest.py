from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from litestar import Litestar

from app.main import create_app
from app.settings import Settings, load_settings

BASE_URL = "http://testserver.local"


@pytest.fixture(autouse=True)
def _isolated(clean_db: None) -> None:
    """Integration tests always run on clean tables."""


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load_settings()


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
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    async with running(app), asgi_client(app) as http:
        yield http
