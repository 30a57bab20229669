"""One chat WebSocket, customer's or agent's: frames in, service calls, events out.

Frames are small JSON objects with a ``type``: ``resume`` {chat, after} (send what I missed after message id
``after``), ``message`` {body, chat, ref}, ``typing`` {chat}, ``end`` {chat}, and for agents ``take`` {chat}.
Out go the channel events of ``app.support.chat_hub`` as published, and the socket's own answers: ``state`` on
connect, ``history`` {chat, lines} for a resume, ``sent`` {ref, id} when a message is stored, ``error`` {code,
detail, ref}. Message ids are TicketMessage ids: a client keeps the highest it has seen, asks ``resume`` with it
after a reconnect, and drops any line whose id it already has (a line can come both live and in a history).

Guards: a frame larger than MAX_FRAME_CHARS closes the socket (1009), more than FRAMES_PER_WINDOW frames in
FRAME_WINDOW_S close it (1008), binary frames close it (1003); message size and the per-person message rate
are the service's (an ``error`` frame, nothing stored). The session behind the socket is checked again at least
every RECHECK_S: a customer who logged out or an agent who lost the support role is closed out (4401 / 4403).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Annotated, Any, NoReturn

import msgspec
from litestar import WebSocket
from litestar.exceptions import WebSocketDisconnect

from app.errors import DomainError
from app.support import chat as chats
from app.support.access import SupportStaff
from app.support.chat_hub import PRESENCE_RENEW_S, ChatHub, Event
from app.support.errors import ChatNotFound

MAX_FRAME_CHARS = 16 * 1024  # a chat line (MAX_CHAT_MESSAGE characters) in JSON, with room for escapes
FRAMES_PER_WINDOW = 60
FRAME_WINDOW_S = 10.0
TYPING_EVERY_S = 2.0  # typing events a socket passes on at most this often
RECHECK_S = 30.0
TICK_S = PRESENCE_RENEW_S

CLOSE_UNSUPPORTED = 1003
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_NOT_LOGGED_IN = 4401
CLOSE_NOT_ALLOWED = 4403

ChatId = Annotated[int, msgspec.Meta(ge=1)]
Ref = Annotated[str, msgspec.Meta(max_length=64)]


class Frame(msgspec.Struct, tag_field="type", forbid_unknown_fields=True):
    pass


class Resume(Frame, tag="resume"):
    chat: ChatId | None = None
    after: Annotated[int, msgspec.Meta(ge=0)] = 0


class Say(Frame, tag="message"):
    body: str
    chat: ChatId | None = None
    ref: Ref = ""


class Typing(Frame, tag="typing"):
    chat: ChatId | None = None


class End(Frame, tag="end"):
    chat: ChatId | None = None


class Take(Frame, tag="take"):
    chat: ChatId


CUSTOMER_FRAMES = msgspec.json.Decoder(Resume | Say | Typing | End)
AGENT_FRAMES = msgspec.json.Decoder(Resume | Say | Typing | End | Take)


class _Closed(Exception):
    """The socket is gone or being closed: stop serving it."""


class ChatConnection:
    """The loop every chat socket runs: subscribe, say hello, then answer frames while channel events flow out."""

    decoder: msgspec.json.Decoder[Any]

    def __init__(self, hub: ChatHub, socket: WebSocket[Any, Any, Any]) -> None:
        self.hub = hub
        self.socket = socket
        self._sending = asyncio.Lock()
        self._window: tuple[float, int] = (time.monotonic(), 0)
        self._typed_at = 0.0
        self._checked_at = time.monotonic()

    # what each side fills in
    def channels(self) -> list[str]:
        raise NotImplementedError

    async def opened(self) -> None: ...

    async def closed(self) -> None: ...

    async def tick(self) -> None: ...

    async def allowed(self) -> bool:
        raise NotImplementedError

    async def handle(self, frame: Frame) -> None:
        raise NotImplementedError

    # the loop
    async def serve(self) -> None:
        async with self.hub.channels.start_subscription(self.channels()) as subscriber:
            try:
                # Subscribed before the hello: whatever is published meanwhile waits in the subscriber's queue.
                await self.opened()
                async with subscriber.run_in_background(self._forward, join=False):
                    ticker = asyncio.create_task(self._ticks())
                    try:
                        await self._receive()
                    finally:
                        ticker.cancel()
                        with suppress(asyncio.CancelledError, _Closed):
                            await ticker
            except (_Closed, WebSocketDisconnect):
                pass
            finally:
                await self.closed()

    async def send(self, event: Event) -> None:
        await self._send_text(msgspec.json.encode(event).decode())

    async def _send_text(self, text: str) -> None:
        async with self._sending:
            try:
                await self.socket.send_text(text)
            except (WebSocketDisconnect, OSError, RuntimeError) as gone:
                raise _Closed from gone

    async def _forward(self, payload: bytes) -> None:
        with suppress(_Closed):
            await self._send_text(payload.decode())

    async def close(self, code: int) -> NoReturn:
        with suppress(WebSocketDisconnect, OSError, RuntimeError):
            await self.socket.close(code=code)
        raise _Closed

    async def _ticks(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            await self._still_allowed()
            await self.tick()

    async def _still_allowed(self) -> None:
        if time.monotonic() - self._checked_at < RECHECK_S:
            return
        if not await self.allowed():
            await self.close(CLOSE_NOT_LOGGED_IN)
        self._checked_at = time.monotonic()

    def _within_frame_rate(self) -> bool:
        started, count = self._window
        now = time.monotonic()
        if now - started > FRAME_WINDOW_S:
            started, count = now, 0
        self._window = (started, count + 1)
        return count < FRAMES_PER_WINDOW

    async def _receive(self) -> None:
        while True:
            message = await self.socket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if not isinstance(text, str):
                await self.close(CLOSE_UNSUPPORTED)
            elif len(text) > MAX_FRAME_CHARS:
                await self.close(CLOSE_TOO_BIG)
            elif not self._within_frame_rate():
                await self.close(CLOSE_POLICY)
            try:
                frame = self.decoder.decode(text)
            except (msgspec.ValidationError, msgspec.DecodeError) as bad:
                await self.send({"type": "error", "code": "bad_frame", "detail": str(bad)})
                continue
            await self._still_allowed()
            try:
                await self.handle(frame)
            except DomainError as refused:
                ref = frame.ref if isinstance(frame, Say) else ""
                await self.send({"type": "error", "code": refused.code, "detail": refused.detail, "ref": ref,
                                 "chat": getattr(frame, "chat", None)})  # fmt: skip

    # shared answers
    def typing_due(self) -> bool:
        """Pass on a typing event at most every TYPING_EVERY_S (clients send them as keys are pressed)."""
        now = time.monotonic()
        if now - self._typed_at < TYPING_EVERY_S:
            return False
        self._typed_at = now
        return True

    async def send_history(self, chat: chats.ChatView, after: int, *, staff: bool) -> None:
        await self.send(chat.event(staff=staff))
        while True:
            lines = await chats.lines_after(chat, after)
            await self.send({"type": "history", "chat": chat.id, "lines": [line.event() for line in lines]})
            if len(lines) < chats.RESUME_PAGE:
                return
            after = lines[-1].id

    async def presence(self) -> Event:
        return {"type": "presence", "agents_online": await self.hub.agents_online()}


class CustomerConnection(ChatConnection):
    decoder = CUSTOMER_FRAMES

    def __init__(
        self,
        hub: ChatHub,
        socket: WebSocket[Any, Any, Any],
        customer_id: int,
        session_ok: Callable[[], Awaitable[bool]],
    ) -> None:
        super().__init__(hub, socket)
        self.customer_id = customer_id
        self._session_ok = session_ok
        self._online: bool | None = None

    def channels(self) -> list[str]:
        return [self.hub.customer_channel(self.customer_id), self.hub.presence_channel]

    async def allowed(self) -> bool:
        return await self._session_ok()

    async def opened(self) -> None:
        chat = await chats.live_chat(self.customer_id)
        presence = await self.presence()
        self._online = presence["agents_online"]
        await self.send({"type": "state", "agents_online": self._online,
                         "chat": chat.event(staff=False)["chat"] if chat else None})  # fmt: skip

    async def tick(self) -> None:
        # Agents whose process died leave no word: their presence expires, and this notices.
        presence = await self.presence()
        if presence["agents_online"] != self._online:
            self._online = presence["agents_online"]
            await self.send(presence)

    async def _chat(self, chat_id: int | None) -> chats.ChatView | None:
        if chat_id is None:
            return await chats.live_chat(self.customer_id)
        return await chats.customer_chat(self.customer_id, chat_id)

    async def handle(self, frame: Frame) -> None:
        if isinstance(frame, Resume):
            chat = await self._chat(frame.chat)
            if chat is not None:
                await self.send_history(chat, frame.after, staff=False)
        elif isinstance(frame, Say):
            line = await chats.customer_says(self.hub, self.customer_id, frame.body)
            await self.send({"type": "sent", "ref": frame.ref, "id": line.id, "chat": line.chat_id})
        elif isinstance(frame, Typing):
            if self.typing_due() and (chat := await chats.live_chat(self.customer_id)) is not None:
                await chats.typing(self.hub, chat, by_staff=False)
        elif isinstance(frame, End):
            chat = await self._chat(frame.chat)
            if chat is None:
                raise ChatNotFound("There is no chat to end.")
            await chats.end_chat(self.hub, chat.id, customer_id=self.customer_id)


class AgentConnection(ChatConnection):
    decoder = AGENT_FRAMES

    def __init__(
        self, hub: ChatHub, socket: WebSocket[Any, Any, Any], staff: SupportStaff,
        staff_ok: Callable[[], Awaitable[bool]],
    ) -> None:  # fmt: skip
        super().__init__(hub, socket)
        self.staff = staff
        self._staff_ok = staff_ok
        self.member = f"{staff.user_id}:{uuid.uuid4().hex}"

    def channels(self) -> list[str]:
        return [self.hub.queue_channel, self.hub.agent_channel(self.staff.user_id)]

    async def allowed(self) -> bool:
        return await self._staff_ok()

    async def opened(self) -> None:
        await self.hub.presence.join(self.member)
        await self.hub.publish(await self.presence(), [self.hub.presence_channel])
        waiting = await chats.waiting_chats()
        mine = await chats.chats_of_agent(self.staff.user_id)
        await self.send({
            "type": "state", "me": {"id": self.staff.user_id, "name": self.staff.username},
            "waiting": [c.event(staff=True)["chat"] for c in waiting],
            "mine": [c.event(staff=True)["chat"] for c in mine],
        })  # fmt: skip

    async def closed(self) -> None:
        await self.hub.presence.leave(self.member)
        await self.hub.publish(await self.presence(), [self.hub.presence_channel])

    async def tick(self) -> None:
        await self.hub.presence.join(self.member)

    async def handle(self, frame: Frame) -> None:
        if isinstance(frame, Take):
            await chats.take(self.hub, self.staff, frame.chat)  # the chat and its lines come on the agent channel
            return
        chat_id: int | None = getattr(frame, "chat", None)
        if chat_id is None:  # an agent may hold several chats: every frame names one
            raise ChatNotFound("Say which chat.")
        if isinstance(frame, Resume):
            await self.send_history(await chats.agent_chat(self.staff.user_id, chat_id), frame.after, staff=True)
        elif isinstance(frame, Say):
            line = await chats.agent_says(self.hub, self.staff, chat_id, frame.body)
            await self.send({"type": "sent", "ref": frame.ref, "id": line.id, "chat": line.chat_id})
        elif isinstance(frame, Typing):
            if self.typing_due():
                await chats.typing(self.hub, await chats.agent_chat(self.staff.user_id, chat_id), by_staff=True)
        elif isinstance(frame, End):
            await chats.end_chat(self.hub, chat_id, staff=self.staff)
