"""Live chat test helpers: sessions for customers and agents, the app served over a real socket on the test's
own event loop (so WebSockets reach the same database pool), and a WebSocket client that waits for events."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from litestar import Litestar
from piccolo.apps.user.tables import BaseUser
from piccolo_api.session_auth.tables import SessionsBase
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from app.accounts import sessions
from app.accounts.auth import AUTH_STORE
from app.accounts.staff import create_staff
from app.support.access import STAFF_SESSION_COOKIE
from app.support.chat_hub import ChatHub
from tables.accounts import Customer
from tests import factories
from tests.integration.conftest import BASE_URL
from tests.portal import PASSWORD
from tests.smtp import free_port

EVENT_TIMEOUT_S = 15.0
CUSTOMER_SOCKET = "/support/chat/ws"
AGENT_SOCKET = "/staff/support/chats/ws"


@pytest.fixture(scope="session")
async def served(app: Litestar, client: httpx.AsyncClient) -> AsyncIterator[str]:
    """The session's app (its lifespan run by ``client``) behind uvicorn on a free port: ws://127.0.0.1:PORT."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_config=None))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)  # uvicorn offers no start-up event to wait on
    yield f"ws://127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest.fixture
def hub(app: Litestar, client: httpx.AsyncClient) -> ChatHub:
    found: ChatHub = app.state.chat
    return found


async def customer_token(app: Litestar, customer: Customer) -> str:
    token, _ = await sessions.start_session(app.stores.get(AUTH_STORE), customer.id, remember=False, ip="",
                                            user_agent="test")  # fmt: skip
    return token


async def agent(username: str, role: str = "support") -> tuple[BaseUser, str]:
    """A staff member with ``role`` and a piccolo session token (the admin's ``id`` cookie)."""
    user = await create_staff(username, f"{username}@example.com", PASSWORD, role)
    session = await SessionsBase.create_session(user.id)
    return user, str(session.token)


async def customer(name: str = "Ada Lovelace") -> Customer:
    return await factories.customer(name=name)


class Socket:
    """A chat WebSocket as a page would hold it; ``next(type)`` waits for the next event of that type."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.seen: list[dict[str, Any]] = []

    async def send(self, **frame: Any) -> None:
        await self.connection.send(json.dumps(frame))

    async def next(self, kind: str, **match: Any) -> dict[str, Any]:
        async def wait() -> dict[str, Any]:
            while True:
                event = json.loads(await self.connection.recv())
                self.seen.append(event)
                if event["type"] == kind and all(event.get(k) == v for k, v in match.items()):
                    return event

        return await asyncio.wait_for(wait(), EVENT_TIMEOUT_S)

    async def closed_with(self) -> int | None:
        """Wait until the server closes the socket; its close code."""

        async def drain() -> None:
            with contextlib.suppress(ConnectionClosed):
                async for _ in self.connection:
                    pass

        await asyncio.wait_for(drain(), EVENT_TIMEOUT_S)
        return self.connection.close_code


@asynccontextmanager
async def socket(base: str, path: str, *, cookie: str = "", origin: str | None = BASE_URL) -> AsyncIterator[Socket]:
    headers = {"Cookie": cookie} if cookie else {}
    async with connect(base + path, origin=origin, additional_headers=headers, proxy=None) as connection:  # type: ignore[arg-type]
        yield Socket(connection)


def customer_cookie(token: str) -> str:
    return f"{sessions.AUTH_COOKIE}={token}"


def staff_cookie(token: str) -> str:
    return f"{STAFF_SESSION_COOKIE}={token}"
