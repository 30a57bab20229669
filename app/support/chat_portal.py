"""Live chat's doors: the customer's WebSocket behind the chat panel of every portal page, and the WebSocket of
the agents' chats page (the page itself is the staff area's: app.staff.chats).

A WebSocket is opened only from a page of this site (Origin equal to BASE_URL's; anything else is refused at the
handshake) and only with a live session: the customer's (``recurra_auth``) or a support staff member's (the
admin's ``id``). A socket without one is accepted and closed at once with 4401/4403, so the page can say why.
A customer's socket serves that customer's own chats only; an agent's serves the queue and the chats they took.
"""

from __future__ import annotations

from typing import Any

from litestar import WebSocket, websocket

from app.accounts import sessions
from app.accounts.auth import AUTH_STORE
from app.support.access import STAFF_SESSION_COOKIE, support_staff
from app.support.chat_hub import ChatHub
from app.support.chat_socket import CLOSE_NOT_ALLOWED, CLOSE_NOT_LOGGED_IN, AgentConnection, CustomerConnection

AnySocket = WebSocket[Any, Any, Any]
CUSTOMER_SOCKET = "/support/chat/ws"
AGENT_PAGE = "/staff/support/chats"


def _hub(socket: AnySocket) -> ChatHub:
    hub: ChatHub = socket.app.state.chat
    return hub


async def _refuse(socket: AnySocket, code: int) -> None:
    await socket.accept()
    await socket.close(code=code)


@websocket(CUSTOMER_SOCKET, name="support:chat-socket")
async def customer_chat_socket(socket: AnySocket) -> None:
    hub = _hub(socket)
    if not hub.origin_allowed(socket.headers.get("origin")):
        await socket.close(code=CLOSE_NOT_ALLOWED)  # before accepting: the handshake fails (403)
        return
    token = socket.cookies.get(sessions.AUTH_COOKIE) or ""
    store = socket.app.stores.get(AUTH_STORE)
    info = await sessions.resolve_session(store, token) if token else None
    if info is None:
        await _refuse(socket, CLOSE_NOT_LOGGED_IN)
        return
    customer_id = info.customer_id

    async def session_ok() -> bool:
        again = await sessions.resolve_session(store, token)
        return again is not None and again.customer_id == customer_id

    await socket.accept()
    await CustomerConnection(hub, socket, customer_id, session_ok).serve()


@websocket(f"{AGENT_PAGE}/ws", name="support:agent-chat-socket")
async def agent_chat_socket(socket: AnySocket) -> None:
    hub = _hub(socket)
    if not hub.origin_allowed(socket.headers.get("origin")):
        await socket.close(code=CLOSE_NOT_ALLOWED)
        return
    token = socket.cookies.get(STAFF_SESSION_COOKIE)
    staff = await support_staff(token)
    if staff is None:
        await _refuse(socket, CLOSE_NOT_ALLOWED)
        return

    async def staff_ok() -> bool:
        again = await support_staff(token)
        return again is not None and again.user_id == staff.user_id

    await socket.accept()
    await AgentConnection(hub, socket, staff, staff_ok).serve()


CHAT_ROUTES = [customer_chat_socket, agent_chat_socket]  # the agents' page is the staff area's (app.staff.chats)
