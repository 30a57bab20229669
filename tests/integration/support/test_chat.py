"""The chat service: a chat is a ticket whose thread is the transcript; one agent per chat; lines in commit
order, resumed after the last id seen; agents' presence expires; messages are limited in size and rate."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
from litestar.channels import Subscriber

from app import clock
from app.support import chat as chats
from app.support import service
from app.support.access import SupportStaff, staff_by_id
from app.support.chat_hub import PRESENCE_TTL_S, ChatHub, MemoryPresence, Presence, RedisPresence
from app.support.errors import (
    ChatEnded,
    ChatMessageInvalid,
    ChatNotFound,
    ChatTaken,
    NoAgentOnline,
    TooManyChatMessages,
)
from tables.support import Chat, ChatEvent, Ticket, TicketEvent, TicketMessage
from tests.chat import agent, customer

EVENT_TIMEOUT_S = 10.0


async def support_staff(username: str) -> SupportStaff:
    user, _ = await agent(username)
    staff = await staff_by_id(user.id)
    assert staff is not None
    return staff


async def online(hub: ChatHub, staff: SupportStaff) -> None:
    await hub.presence.join(f"{staff.user_id}:test")


@pytest.fixture
async def sam(hub: ChatHub) -> SupportStaff:
    """Sam, a support agent with the chats page open."""
    staff = await support_staff("sam")
    await online(hub, staff)
    return staff


@asynccontextmanager
async def listening(hub: ChatHub, *channels: str) -> AsyncIterator[Subscriber]:
    async with hub.channels.start_subscription(list(channels)) as subscriber:
        yield subscriber


async def next_event(subscriber: Subscriber, kind: str) -> dict[str, Any]:
    async def wait() -> dict[str, Any]:
        async for raw in subscriber.iter_events():
            event: dict[str, Any] = json.loads(raw)
            if event["type"] == kind:
                return event
        raise AssertionError("the subscription ended")

    return await asyncio.wait_for(wait(), EVENT_TIMEOUT_S)


async def test_a_first_message_starts_a_waiting_chat_that_is_a_ticket(hub: ChatHub, sam: SupportStaff) -> None:
    ada = await customer("Ada Lovelace")
    async with listening(hub, hub.queue_channel) as queue, listening(hub, hub.customer_channel(ada.id)) as mine:
        line = await chats.customer_says(hub, ada.id, "My invoice shows the wrong country.\nIt says US.")
        waiting = await next_event(queue, "waiting")
        heard = await next_event(mine, "message")

    chat = await Chat.objects().get(Chat.customer == ada.id)
    ticket = await Ticket.objects().get(Ticket.id == chat.ticket)
    assert (chat.status, chat.agent) == ("waiting", None)
    assert (ticket.channel, ticket.status, ticket.customer) == ("chat", "new", ada.id)
    assert ticket.subject == "Chat: My invoice shows the wrong country."
    [message] = await TicketMessage.select().where(TicketMessage.ticket == ticket.id)
    assert (message["channel"], message["author_kind"], message["id"]) == ("chat", "customer", line.id)
    assert message["body"] == "My invoice shows the wrong country.\nIt says US."
    assert waiting["chat"]["customer"] == "Ada Lovelace" and waiting["chat"]["id"] == chat.id
    assert heard == line.event()


async def test_with_no_agent_online_a_chat_does_not_start(hub: ChatHub) -> None:
    ada = await customer()
    with pytest.raises(NoAgentOnline):
        await chats.customer_says(hub, ada.id, "Anyone there?")
    assert await Ticket.count() == 0 and await Chat.count() == 0


async def test_one_agent_takes_a_chat_and_the_next_one_is_told_it_is_taken(hub: ChatHub, sam: SupportStaff) -> None:
    kim = await support_staff("kim")
    ada = await customer()
    await chats.customer_says(hub, ada.id, "Hello?")
    chat = await chats.live_chat(ada.id)
    assert chat is not None

    results = await asyncio.gather(chats.take(hub, sam, chat.id), chats.take(hub, kim, chat.id), return_exceptions=True)
    won = [r for r in results if isinstance(r, chats.ChatView)]
    lost = [r for r in results if isinstance(r, BaseException)]
    assert len(won) == 1 and len(lost) == 1 and isinstance(lost[0], ChatTaken), results
    winner = sam if won[0].agent_id == sam.user_id else kim
    assert str(lost[0]) == f"{winner.username} has taken this chat."

    row = await Chat.objects().get(Chat.id == chat.id)
    ticket = await Ticket.objects().get(Ticket.id == chat.ticket_id)
    assert (row.status, row.agent, ticket.assignee, ticket.status) == ("active", winner.user_id, winner.user_id, "open")
    assert [e["event"] for e in await ChatEvent.select().where(ChatEvent.chat == chat.id)] == ["take"]
    events = await TicketEvent.select(TicketEvent.event).where(TicketEvent.ticket == chat.ticket_id)
    assert [e["event"] for e in events] == ["create", "assign", "open"]
    assert (await chats.lines_after(won[0], 0))[-1].body == f"{winner.username} joined the chat."


async def test_the_transcript_is_the_thread_in_order_and_resumes_after_the_last_id(
    hub: ChatHub, sam: SupportStaff
) -> None:
    ada = await customer()
    first = await chats.customer_says(hub, ada.id, "One")
    chat = await chats.take(hub, sam, first.chat_id)
    await chats.agent_says(hub, sam, chat.id, "Two")
    await service.staff_reply(chat.ticket_id, sam.user_id, "a note for staff only", internal=True)
    third = await chats.customer_says(hub, ada.id, "Three")
    await chats.agent_says(hub, sam, chat.id, "Four")

    whole = await chats.lines_after(chat, 0)
    assert [(line.author, line.body) for line in whole] == [
        ("customer", "One"), ("system", "sam joined the chat."), ("staff", "Two"), ("customer", "Three"),
        ("staff", "Four"),
    ]  # fmt: skip
    assert [line.id for line in whole] == sorted(line.id for line in whole)
    assert [line.body for line in await chats.lines_after(chat, third.id)] == ["Four"]
    assert await chats.lines_after(chat, whole[-1].id) == []
    messages = await TicketMessage.select().where(TicketMessage.ticket == chat.ticket_id).order_by(TicketMessage.id)
    assert [m["channel"] for m in messages if not m["internal"]] == ["chat"] * 5
    ticket = await Ticket.objects().get(Ticket.id == chat.ticket_id)
    assert ticket.first_response_at is not None


async def test_two_tabs_starting_at_once_make_one_chat(hub: ChatHub, sam: SupportStaff) -> None:
    ada = await customer()
    await asyncio.gather(chats.customer_says(hub, ada.id, "Tab one"), chats.customer_says(hub, ada.id, "Tab two"))
    [chat] = await Chat.select()
    bodies = [m["body"] for m in await TicketMessage.select().where(TicketMessage.ticket == chat["ticket"])]
    assert sorted(bodies) == ["Tab one", "Tab two"]


async def test_an_agent_ending_the_chat_solves_its_ticket_and_the_next_message_starts_another(
    hub: ChatHub, sam: SupportStaff
) -> None:
    ada = await customer()
    first = await chats.customer_says(hub, ada.id, "Can I pause?")
    chat = await chats.take(hub, sam, first.chat_id)
    async with listening(hub, hub.customer_channel(ada.id)) as mine:
        ended = await chats.end_chat(hub, chat.id, staff=sam)
        told = await next_event(mine, "chat")
    assert ended.status == "ended" and told["chat"]["status"] == "ended"
    assert (await Ticket.objects().get(Ticket.id == chat.ticket_id)).status == "solved"
    assert (await chats.lines_after(chat, 0))[-1].body == "sam ended the chat."
    assert await chats.end_chat(hub, chat.id, staff=sam) == ended  # twice changes nothing
    with pytest.raises(ChatEnded):
        await chats.agent_says(hub, sam, chat.id, "one more thing")

    again = await chats.customer_says(hub, ada.id, "Another question")
    assert again.chat_id != chat.id and await Ticket.count() == 2


async def test_a_customer_leaving_an_untaken_chat_leaves_its_ticket_on_the_desk(
    hub: ChatHub, sam: SupportStaff
) -> None:
    ada = await customer()
    first = await chats.customer_says(hub, ada.id, "Hello")
    async with listening(hub, hub.queue_channel) as queue:
        await chats.end_chat(hub, first.chat_id, customer_id=ada.id)
        gone = await next_event(queue, "gone")
    assert gone["chat"] == first.chat_id
    assert (await Ticket.objects().get(Ticket.channel == "chat")).status == "new"
    with pytest.raises(ChatEnded):
        await chats.take(hub, sam, first.chat_id)


async def test_each_side_reaches_only_its_own_chats(hub: ChatHub, sam: SupportStaff) -> None:
    kim = await support_staff("kim")
    ada, bob = await customer("Ada"), await customer("Bob")
    line = await chats.customer_says(hub, ada.id, "Mine")
    await chats.take(hub, sam, line.chat_id)
    with pytest.raises(ChatNotFound):
        await chats.customer_chat(bob.id, line.chat_id)
    with pytest.raises(ChatNotFound):
        await chats.end_chat(hub, line.chat_id, customer_id=bob.id)
    with pytest.raises(ChatNotFound):
        await chats.agent_says(hub, kim, line.chat_id, "I am not on this chat")
    with pytest.raises(ChatNotFound):
        await chats.agent_chat(kim.user_id, line.chat_id)
    assert (await chats.customer_chat(ada.id, line.chat_id)).id == line.chat_id


async def test_messages_are_limited_in_size_and_rate(hub: ChatHub, sam: SupportStaff) -> None:
    ada = await customer()
    with pytest.raises(ChatMessageInvalid, match="under 2,000 characters"):
        await chats.customer_says(hub, ada.id, "x" * (chats.MAX_CHAT_MESSAGE + 1))
    with pytest.raises(ChatMessageInvalid):
        await chats.customer_says(hub, ada.id, "  \n ")
    assert await Ticket.count() == 0
    start = clock.now().replace(second=0, microsecond=0)
    with clock.frozen_at(start):  # one rate window for the whole burst
        for n in range(chats.CUSTOMER_MESSAGES_PER_MINUTE):
            await chats.customer_says(hub, ada.id, f"line {n}")
        with pytest.raises(TooManyChatMessages) as refused:
            await chats.customer_says(hub, ada.id, "one too many")
    assert refused.value.headers["Retry-After"] == "60"
    assert await TicketMessage.count().where(TicketMessage.body == "one too many") == 0
    with clock.frozen_at(start + timedelta(minutes=1)):
        await chats.customer_says(hub, ada.id, "next minute")


@pytest.fixture(params=["redis", "memory"])
def presence(request: pytest.FixtureRequest, hub: ChatHub) -> Presence:
    if request.param == "memory":
        return MemoryPresence()
    assert isinstance(hub.presence, RedisPresence)
    return hub.presence


async def test_an_agents_presence_expires_unless_renewed(presence: Presence, hub: ChatHub) -> None:
    start = clock.now()
    with clock.frozen_at(start):
        await presence.join("7:tab-a")
        await presence.join("7:tab-b")
        await presence.join("8:tab-a")
        assert await presence.online() == {7, 8}
        await presence.leave("8:tab-a")
        assert await presence.online() == {7}
    with clock.frozen_at(start + timedelta(seconds=PRESENCE_TTL_S - 1)):
        await presence.join("7:tab-b")  # tab b renews; tab a's process died
    with clock.frozen_at(start + timedelta(seconds=PRESENCE_TTL_S + 1)):
        assert await presence.online() == {7}
    with clock.frozen_at(start + timedelta(seconds=2 * PRESENCE_TTL_S)):
        assert await presence.online() == set()


async def test_a_line_that_loses_the_race_with_the_end_of_its_chat_is_not_kept(hub: ChatHub, sam: SupportStaff) -> None:
    ada = await customer()
    first = await chats.customer_says(hub, ada.id, "Hello")
    seen_live = await chats.live_chat(ada.id)  # what the customer's line was decided on ...
    assert seen_live is not None
    await chats.end_chat(hub, first.chat_id, customer_id=ada.id)  # ... before the end committed
    with pytest.raises(ChatEnded):
        await chats._append(hub, seen_live, ada.id, "Still there?")
    assert await TicketMessage.count().where(TicketMessage.body == "Still there?") == 0
