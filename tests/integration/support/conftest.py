"""Fixtures of the support desk tests: the app's desk, a job context for the outbox, support staff, the
inbound SMTP listener."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from arq import Worker
from litestar import Litestar
from piccolo.apps.user.tables import BaseUser

from app.accounts.staff import create_staff
from app.jobs import ArqJobQueue
from app.settings import Settings
from app.support.service import SupportDesk
from tables.accounts import Customer
from tables.support import KnowledgeBaseArticle
from tasks import worker as tasks_worker
from tests.chat import hub, served  # noqa: F401 - fixtures of the chat tests
from tests.portal import PASSWORD, sign_up
from tests.support import inbound_listener


@pytest.fixture
def desk(app: Litestar, client: httpx.AsyncClient) -> SupportDesk:
    """The running app's support desk (its rate limiter on the test Redis, its attachment store)."""
    found: SupportDesk = app.state.support
    return found


def with_support(desk: SupportDesk, **changes: Any) -> SupportDesk:
    settings: Settings = desk.settings
    return replace(desk, settings=replace(settings, support=replace(settings.support, **changes)))


@pytest.fixture
def job_ctx(settings: Settings, worker: Worker) -> dict[str, Any]:
    """What the outbox dispatcher finds in ctx; mail jobs go to the session's arq worker, then the mailbox."""
    assert worker.pool is not None
    return {"settings": settings, "queue": ArqJobQueue(worker.pool, tasks_worker.queue_name(settings))}


@pytest.fixture
async def agent() -> BaseUser:
    return await create_staff("sam", "sam@example.com", PASSWORD, "support")


@pytest.fixture
async def ada(client: httpx.AsyncClient) -> Customer:
    """Ada, logged in on ``client``, with a confirmed e-mail address."""
    return await sign_up(client)


@pytest.fixture
async def listener(desk: SupportDesk) -> AsyncIterator[int]:
    async with inbound_listener(desk) as port:
        yield port


async def article(title: str, body: str, *, published: bool = True) -> KnowledgeBaseArticle:
    slug = title.lower().replace(" ", "-")[:50]
    state = KnowledgeBaseArticle.PublishState.published if published else KnowledgeBaseArticle.PublishState.draft
    row = KnowledgeBaseArticle(title=title, slug=slug, body=body, publish_state=state)
    await row.save()
    return row
