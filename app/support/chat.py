"""Live chat: a chat is a ticket (channel ``chat``) whose thread is the transcript, plus a Chat row saying who is
talking, so staff read, answer and keep it like any other ticket.

A customer's first message starts a chat when an agent is online (else NoAgentOnline: the panel offers the
ticket form): a ticket counted against the hourly ticket limit, its first message, and a ``waiting`` Chat. An
agent takes it (``take``: one agent per chat; the next one hears ChatTaken), which assigns the ticket to them and
opens it. Every line either side writes is a TicketMessage of the ticket, written under the ticket's row lock,
so a ticket's message ids grow in the order their rows commit: a reconnecting client asks ``lines_after`` its
last id and misses nothing. Either side may end the chat; an agent ending it solves the ticket (the customer's
next word reopens it, as on any ticket), a customer leaving a chat nobody took leaves its ticket on the desk.

What happens is published to the channels of ``app.support.chat_hub`` once it has committed. Internal notes on
the ticket never reach the chat.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from app import clock
from app.audit.service import actor_for_customer, actor_for_staff
from app.db import fetch, locked_row, write_transaction
from app.statemachine import write_transition
from app.support import service
from app.support.access import SupportStaff
from app.support.chat_hub import ChatHub, Event
from app.support.chat_states import MACHINE, ChatMove, ChatStatus
from app.support.errors import (
    ChatEnded,
    ChatMessageInvalid,
    ChatNotFound,
    ChatTaken,
    NoAgentOnline,
    TicketClosed,
    TooManyChatMessages,
)
from app.support.service import Author, Channel, CustomerMessage, NewTicket
from app.support.states import Event as TicketMove
from app.support.states import Status
from tables.accounts import Customer
from tables.support import Chat, ChatEvent, Ticket, TicketMessage

MAX_CHAT_MESSAGE = 2_000  # characters a chat line may have; longer questions fit the ticket form
CUSTOMER_MESSAGES_PER_MINUTE = 30
STAFF_MESSAGES_PER_MINUTE = 120
RESUME_PAGE = 500  # lines one resume read returns; the socket reads on until it has them all
SUBJECT_CHARS = 80
LIVE = (ChatStatus.waiting, ChatStatus.active)
DESK_NAME = "Support desk"


@dataclass(frozen=True, slots=True)
class ChatView:
    id: int
    ticket_id: int
    status: str
    customer_id: int
    customer_name: str
    agent_id: int | None
    agent_name: str
    subject: str
    started_at: datetime

    @property
    def live(self) -> bool:
        return self.status in LIVE

    def event(self, *, staff: bool) -> Event:
        """The chat as its ``chat`` event: customers learn the agent's name only; staff the customer's too."""
        data: dict[str, Any] = {
            "id": self.id, "ticket": self.ticket_id, "status": self.status, "agent": self.agent_name or None,
            "subject": self.subject, "started_at": self.started_at.isoformat(),
        }  # fmt: skip
        if staff:
            data |= {"agent_id": self.agent_id, "customer": self.customer_name}
        return {"type": "chat", "chat": data}


@dataclass(frozen=True, slots=True)
class ChatLine:
    id: int  # the TicketMessage's id: clients resume after it and drop what they have already
    chat_id: int
    author: str  # customer, staff, system
    name: str
    body: str
    at: datetime

    def event(self) -> Event:
        return {"type": "message", "chat": self.chat_id, "id": self.id, "author": self.author, "name": self.name,
                "body": self.body, "at": self.at.isoformat()}  # fmt: skip


# --- reads ------------------------------------------------------------------------------------------------


# Every line a customer sends reads its chat: plain SQL, as Piccolo built this four-table select at about a
# millisecond of CPU a time (bench/support_chat.py). Runs the same on PostgreSQL and SQLite.
_CHATS_SQL = """
SELECT c.id, c.ticket, c.status, c.customer, c.agent, c.started_at, cu.name AS customer_name,
       u.username AS agent_username, u.first_name AS agent_first_name, t.subject
FROM chat c JOIN customer cu ON cu.id = c.customer JOIN ticket t ON t.id = c.ticket
LEFT JOIN piccolo_user u ON u.id = c.agent
"""


async def _chats(where: str, *args: Any) -> list[ChatView]:
    """``where``: a condition written here, never input; the values go as parameters."""
    return [_view(row) for row in await fetch(f"{_CHATS_SQL} WHERE {where} ORDER BY c.id", *args)]


def _view(row: dict[str, Any]) -> ChatView:
    return ChatView(
        id=row["id"], ticket_id=row["ticket"], status=row["status"], customer_id=row["customer"],
        customer_name=row["customer_name"], agent_id=row["agent"],
        agent_name=row["agent_first_name"] or row["agent_username"] or "", subject=row["subject"],
        started_at=clock.as_utc(row["started_at"]),
    )  # fmt: skip


async def chat_by_id(chat_id: int) -> ChatView | None:
    found = await _chats("c.id = {}", chat_id)
    return found[0] if found else None


async def live_chat(customer_id: int) -> ChatView | None:
    """The customer's waiting or active chat, if any (there is at most one)."""
    found = await _chats("c.customer = {} AND c.status IN ({}, {})", customer_id, *(s.value for s in LIVE))
    return found[0] if found else None


async def _existing(chat_id: int) -> ChatView:
    chat = await chat_by_id(chat_id)
    if chat is None:
        raise ChatNotFound("There is no such chat.")
    return chat


async def customer_chat(customer_id: int, chat_id: int) -> ChatView:
    """One of the customer's own chats, live or ended; ChatNotFound for anybody else's."""
    chat = await chat_by_id(chat_id)
    if chat is None or chat.customer_id != customer_id:
        raise ChatNotFound("There is no such chat.")
    return chat


async def agent_chat(user_id: int, chat_id: int) -> ChatView:
    """A chat the agent took (live or ended); ChatNotFound for one they do not hold."""
    chat = await chat_by_id(chat_id)
    if chat is None or chat.agent_id != user_id:
        raise ChatNotFound("That chat is not yours.")
    return chat


async def waiting_chats() -> list[ChatView]:
    """Chats nobody has taken yet, longest waiting first."""
    return await _chats("c.status = {}", ChatStatus.waiting.value)


async def chats_of_agent(user_id: int) -> list[ChatView]:
    """The agent's active chats."""
    return await _chats("c.agent = {} AND c.status = {}", user_id, ChatStatus.active.value)


def _line(chat_id: int, row: dict[str, Any]) -> ChatLine:
    if row["author_kind"] == Author.customer:
        name = row["customer_name"] or "Customer"
    elif row["author_kind"] == Author.staff:
        name = row["staff_first_name"] or row["staff_username"] or "Support team"
    else:
        name = DESK_NAME
    return ChatLine(id=row["id"], chat_id=chat_id, author=row["author_kind"], name=name, body=row["body"],
                    at=clock.as_utc(row["created_at"]))  # fmt: skip


async def lines_after(chat: ChatView, after: int) -> list[ChatLine]:
    """The chat's transcript after message id ``after`` (0: from the start), oldest first, at most RESUME_PAGE
    lines: the whole public thread of its ticket, so staff replies by e-mail show too."""
    rows = await (
        TicketMessage.select(
            TicketMessage.id, TicketMessage.author_kind, TicketMessage.body, TicketMessage.created_at,
            TicketMessage.staff_author.username.as_alias("staff_username"),
            TicketMessage.staff_author.first_name.as_alias("staff_first_name"),
            TicketMessage.ticket._.customer._.name.as_alias("customer_name"),
        )
        .where((TicketMessage.ticket == chat.ticket_id) & (TicketMessage.id > after) & TicketMessage.internal.eq(False))
        .order_by(TicketMessage.id)
        .limit(RESUME_PAGE)
    )  # fmt: skip
    return [_line(chat.id, row) for row in rows]


async def _new_line(chat: ChatView, message_id: int, author: str, body: str) -> ChatLine:
    """The line just written, named without a join: its author is the chat's customer, its agent or the desk."""
    [row] = await fetch("SELECT created_at FROM ticket_message WHERE id = {}", message_id)
    name = {Author.customer: chat.customer_name, Author.staff: chat.agent_name}.get(Author(author), DESK_NAME)
    return ChatLine(id=message_id, chat_id=chat.id, author=author, name=name, body=body,
                    at=clock.as_utc(row["created_at"]))  # fmt: skip


# --- writes -----------------------------------------------------------------------------------------------


def _checked(body: str) -> str:
    text = body.replace("\r\n", "\n").strip()
    if not text:
        raise ChatMessageInvalid("Write a message first.")
    if len(text) > MAX_CHAT_MESSAGE:
        raise ChatMessageInvalid(f"Keep a chat message under {MAX_CHAT_MESSAGE:,} characters ({len(text):,} now); "
                                 "a longer question fits the request form.")  # fmt: skip
    return text


async def _within_rate(hub: ChatHub, key: str, per_minute: int) -> None:
    decision = await hub.limiter.hit(key, per_minute, 60)
    if not decision.allowed:
        raise TooManyChatMessages(decision.retry_after_s)


async def _locked_chat(chat_id: int) -> tuple[ChatView, dict[str, Any]]:
    """The chat, read again under its ticket's row lock (inside the caller's transaction), and the ticket row."""
    found = await Chat.select(Chat.ticket).where(Chat.id == chat_id).first()
    ticket = await locked_row(Ticket, found["ticket"]) if found is not None else None
    if ticket is None:
        raise ChatNotFound("There is no such chat.")
    return await _existing(chat_id), ticket


def _heard_by(hub: ChatHub, chat: ChatView) -> list[str]:
    return [hub.customer_channel(chat.customer_id)] + ([hub.agent_channel(chat.agent_id)] if chat.agent_id else [])


async def _publish_line(hub: ChatHub, chat: ChatView, message_id: int, author: str, body: str) -> ChatLine:
    line = await _new_line(chat, message_id, author, body)
    await hub.publish(line.event(), _heard_by(hub, chat))
    return line


async def _publish_chat(hub: ChatHub, chat: ChatView) -> None:
    await hub.publish(chat.event(staff=False), [hub.customer_channel(chat.customer_id)])
    if chat.agent_id is not None:
        await hub.publish(chat.event(staff=True), [hub.agent_channel(chat.agent_id)])


async def customer_says(hub: ChatHub, customer_id: int, body: str) -> ChatLine:
    """The customer's line in their live chat, or the first line of a new one."""
    text = _checked(body)
    await _within_rate(hub, f"chat:customer:{customer_id}", CUSTOMER_MESSAGES_PER_MINUTE)
    chat = await live_chat(customer_id)
    if chat is None:
        return await _start(hub, customer_id, text)
    return await _append(hub, chat, customer_id, text)


async def _append(hub: ChatHub, chat: ChatView, customer_id: int, text: str) -> ChatLine:
    message = CustomerMessage(text, channel=Channel.chat)
    async with write_transaction():
        try:  # it takes the ticket's row lock: the chat cannot be taken or ended meanwhile
            message_id = await service.append_customer_message(hub.desk, chat.ticket_id, message,
                                                               actor=actor_for_customer(customer_id))  # fmt: skip
        except TicketClosed:
            raise ChatEnded("This conversation is closed. Send your message again to start a new chat.") from None
        now = await Chat.select(Chat.status, Chat.agent).where(Chat.id == chat.id).first()
        if now is None or now["status"] not in LIVE:
            raise ChatEnded("This chat has ended. Send your message again to start a new chat.")  # rolls it back
        heard_by = replace(chat, status=now["status"], agent_id=now["agent"])
        return await _publish_line(hub, heard_by, message_id, Author.customer, text)


async def _start(hub: ChatHub, customer_id: int, text: str) -> ChatLine:
    if not await hub.agents_online():
        raise NoAgentOnline("No one is online to chat right now. Write to us instead: we answer by e-mail.")
    await service.enforce_creation_limit(hub.desk, f"customer:{customer_id}")
    async with write_transaction():
        customer = await locked_row(Customer, customer_id)
        if customer is None:
            raise ChatNotFound("There is no such customer.")
        if (other_tab := await live_chat(customer_id)) is not None:  # started meanwhile (another tab)
            return await _append(hub, other_tab, customer_id, text)
        first_line = text.split("\n", 1)[0]
        subject = "Chat: " + (first_line if len(first_line) <= SUBJECT_CHARS else first_line[:SUBJECT_CHARS] + "…")
        new = NewTicket(customer_id=customer_id, actor=actor_for_customer(customer_id), subject=subject,
                        requester_email=customer["email"])  # fmt: skip
        ticket_id = await service.create_ticket(hub.desk, new, CustomerMessage(text, channel=Channel.chat))
        rows = await Chat.insert(Chat(ticket=ticket_id, customer=customer_id, status=ChatStatus.waiting,
                                      started_at=clock.now())).returning(Chat.id)  # fmt: skip
        chat = await _existing(int(rows[0]["id"]))
        await hub.publish({**chat.event(staff=True), "type": "waiting"}, [hub.queue_channel])
        await _publish_chat(hub, chat)
        [line] = await lines_after(chat, 0)
        await hub.publish(line.event(), _heard_by(hub, chat))
        return line


async def take(hub: ChatHub, staff: SupportStaff, chat_id: int) -> ChatView:
    """The agent takes a waiting chat: it is theirs alone (ChatTaken for whoever comes second), its ticket is
    assigned to them and open."""
    actor = actor_for_staff(staff.user_id)
    async with write_transaction():
        chat, ticket = await _locked_chat(chat_id)
        if chat.status == ChatStatus.active:
            raise ChatTaken(f"{chat.agent_name or 'Another agent'} has taken this chat.")
        if chat.status != ChatStatus.waiting:
            raise ChatEnded("The customer has left this chat; their ticket stays on the desk.")
        if ticket["status"] == Status.closed:
            raise ChatEnded("This chat's ticket is closed.")
        await write_transition(MACHINE, Chat, ChatEvent, chat_id, ChatMove.take, actor=actor, at=clock.now(),
                               changes={Chat.agent: staff.user_id})  # fmt: skip
        await service.assign(chat.ticket_id, staff.user_id, actor=actor)
        if ticket["status"] != Status.open:
            await service.move(chat.ticket_id, TicketMove.open, actor=actor, reason="taken in chat")
        taken = await _existing(chat_id)
        joined = f"{taken.agent_name} joined the chat."
        note = await service._add_message(chat.ticket_id, Author.system, joined, channel=Channel.chat)
        await hub.publish({"type": "taken", "chat": chat_id, "agent_id": staff.user_id, "agent": taken.agent_name},
                          [hub.queue_channel])  # fmt: skip
        await _publish_chat(hub, taken)
        await _publish_line(hub, taken, note, Author.system, joined)
    return taken


async def agent_says(hub: ChatHub, staff: SupportStaff, chat_id: int, body: str) -> ChatLine:
    """The agent's line in a chat they hold (no e-mail: the customer is in the chat; the ticket keeps it)."""
    text = _checked(body)
    await _within_rate(hub, f"chat:staff:{staff.user_id}", STAFF_MESSAGES_PER_MINUTE)
    async with write_transaction():
        chat, ticket = await _locked_chat(chat_id)
        if chat.agent_id != staff.user_id:
            raise ChatNotFound("That chat is not yours.")
        if chat.status != ChatStatus.active or ticket["status"] == Status.closed:
            raise ChatEnded("This chat has ended.")
        message_id = await service._add_message(chat.ticket_id, Author.staff, text, channel=Channel.chat,
                                                staff_id=staff.user_id)  # fmt: skip
        if ticket["first_response_at"] is None:
            await Ticket.update({Ticket.first_response_at: clock.now()}).where(Ticket.id == chat.ticket_id)
        return await _publish_line(hub, chat, message_id, Author.staff, text)


async def end_chat(
    hub: ChatHub, chat_id: int, *, customer_id: int | None = None, staff: SupportStaff | None = None
) -> ChatView:
    """The customer (``customer_id``) or the agent holding it (``staff``) ends the chat; ending it twice changes
    nothing. The agent ending it solves the ticket; a chat nobody took leaves its ticket on the desk."""
    if (customer_id is None) == (staff is None):
        raise ValueError("a chat is ended by its customer or by its agent")
    async with write_transaction():
        chat, ticket = await _locked_chat(chat_id)
        if (staff is not None and chat.agent_id != staff.user_id) or (
            customer_id is not None and chat.customer_id != customer_id
        ):
            raise ChatNotFound("There is no such chat.")
        if not chat.live:
            return chat
        actor = actor_for_staff(staff.user_id) if staff else actor_for_customer(chat.customer_id)
        by = f"{chat.agent_name} ended the chat." if staff else "The customer ended the chat."
        await write_transition(MACHINE, Chat, ChatEvent, chat_id, ChatMove.end, actor=actor, at=clock.now(),
                               reason=by)  # fmt: skip
        note = await service._add_message(chat.ticket_id, Author.system, by, channel=Channel.chat)
        if staff is not None and ticket["status"] in (Status.new, Status.open, Status.pending):
            await service.solve(chat.ticket_id, actor=actor, reason="chat ended")
        ended = await _existing(chat_id)
        if chat.status == ChatStatus.waiting:
            await hub.publish({"type": "gone", "chat": chat_id}, [hub.queue_channel])
        await _publish_line(hub, ended, note, Author.system, by)
        await _publish_chat(hub, ended)
    return ended


async def typing(hub: ChatHub, chat: ChatView, *, by_staff: bool) -> None:
    """Tell the other side someone is typing (nothing is stored)."""
    if not chat.live:
        return
    event = {"type": "typing", "chat": chat.id, "who": "staff" if by_staff else "customer"}
    if by_staff:
        await hub.publish(event, [hub.customer_channel(chat.customer_id)])
    elif chat.agent_id is not None:
        await hub.publish(event, [hub.agent_channel(chat.agent_id)])
