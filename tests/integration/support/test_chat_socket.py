"""The chat WebSockets over a real socket: a customer and an agent talk (live, with typing), a reconnect resumes
without losing or repeating a line, and the doors check Origin, the session and the size and pace of frames."""

from __future__ import annotations

import json

import httpx
import pytest
from litestar import Litestar
from websockets.exceptions import InvalidStatus

from app.support.chat import MAX_CHAT_MESSAGE
from app.support.chat_socket import FRAMES_PER_WINDOW, MAX_FRAME_CHARS
from tables.support import Chat, TicketMessage
from tests.chat import (
    AGENT_SOCKET,
    CUSTOMER_SOCKET,
    agent,
    customer,
    customer_cookie,
    customer_token,
    socket,
    staff_cookie,
)
from tests.integration.conftest import BASE_URL
from tests.portal import sign_up


async def test_a_customer_and_an_agent_chat_live(served: str, app: Litestar) -> None:
    _, sam_token = await agent("sam")
    ada = await customer("Ada Lovelace")
    async with socket(served, AGENT_SOCKET, cookie=staff_cookie(sam_token)) as desk:
        hello = await desk.next("state")
        assert hello["me"]["name"] == "sam" and hello["waiting"] == [] and hello["mine"] == []
        async with socket(served, CUSTOMER_SOCKET, cookie=customer_cookie(await customer_token(app, ada))) as panel:
            assert (await panel.next("state")) == {"type": "state", "agents_online": True, "chat": None}
            await panel.send(type="message", body="<b>Hi</b>, my invoice is wrong", ref="r1")
            sent = await panel.next("sent", ref="r1")
            waiting = await desk.next("waiting")
            assert waiting["chat"]["customer"] == "Ada Lovelace"
            chat_id = waiting["chat"]["id"]

            await desk.send(type="take", chat=chat_id)
            assert (await desk.next("chat"))["chat"]["status"] == "active"
            await desk.send(type="resume", chat=chat_id, after=0)
            history = await desk.next("history", chat=chat_id)
            assert [(line["author"], line["body"]) for line in history["lines"]] == [
                ("customer", "<b>Hi</b>, my invoice is wrong"), ("system", "sam joined the chat.")
            ]  # fmt: skip
            assert history["lines"][0]["id"] == sent["id"]
            assert (await panel.next("chat"))["chat"] == {
                "id": chat_id, "ticket": waiting["chat"]["ticket"], "status": "active", "agent": "sam",
                "subject": "Chat: <b>Hi</b>, my invoice is wrong", "started_at": waiting["chat"]["started_at"],
            }  # fmt: skip

            await panel.send(type="typing")
            assert (await desk.next("typing"))["who"] == "customer"
            await desk.send(type="typing", chat=chat_id)
            assert (await panel.next("typing"))["who"] == "staff"
            await desk.send(type="message", chat=chat_id, body="Let me look.", ref="a1")
            heard = await panel.next("message", author="staff")
            assert (heard["name"], heard["body"]) == ("sam", "Let me look.")
            await panel.send(type="message", body="Thanks", ref="r2")
            assert (await desk.next("message", author="customer", body="Thanks"))["name"] == "Ada Lovelace"

            await desk.send(type="end", chat=chat_id)
            assert (await panel.next("chat"))["chat"]["status"] == "ended"
    bodies = [m["body"] for m in await TicketMessage.select().where(TicketMessage.channel == "chat")]
    assert bodies == ["<b>Hi</b>, my invoice is wrong", "sam joined the chat.", "Let me look.", "Thanks",
                      "sam ended the chat."]  # fmt: skip


async def test_a_reconnect_gets_what_it_missed_once(served: str, app: Litestar) -> None:
    _, sam_token = await agent("sam")
    ada = await customer()
    cookie = customer_cookie(await customer_token(app, ada))
    async with socket(served, AGENT_SOCKET, cookie=staff_cookie(sam_token)) as desk:
        await desk.next("state")
        async with socket(served, CUSTOMER_SOCKET, cookie=cookie) as panel:
            await panel.next("state")
            await panel.send(type="message", body="Hello", ref="r1")
            chat_id = (await panel.next("sent"))["chat"]
            await desk.send(type="take", chat=chat_id)
            last_seen = (await panel.next("message", author="system"))["id"]
        # the panel is gone (a train tunnel): the agent writes twice meanwhile
        for body in ("Are you there?", "I have fixed it."):
            await desk.send(type="message", chat=chat_id, body=body, ref=body)
            await desk.next("sent", ref=body)

        async with socket(served, CUSTOMER_SOCKET, cookie=cookie) as panel:
            state = await panel.next("state")
            assert state["chat"]["id"] == chat_id and state["chat"]["status"] == "active"
            await panel.send(type="resume", chat=chat_id, after=last_seen)
            missed = await panel.next("history")
            assert [line["body"] for line in missed["lines"]] == ["Are you there?", "I have fixed it."]
            assert all(line["id"] > last_seen for line in missed["lines"])
            await panel.send(type="resume", chat=chat_id, after=missed["lines"][-1]["id"])
            assert (await panel.next("history"))["lines"] == []


async def test_a_customer_reaches_only_their_own_chat(served: str, app: Litestar) -> None:
    sam, _ = await agent("sam")
    await app.state.chat.presence.join(f"{sam.id}:tab")
    ada, bob = await customer("Ada"), await customer("Bob")
    async with socket(served, CUSTOMER_SOCKET, cookie=customer_cookie(await customer_token(app, ada))) as panel:
        await panel.next("state")
        await panel.send(type="message", body="Ada's secret", ref="r1")
        ada_chat = (await panel.next("sent"))["chat"]
    async with socket(served, CUSTOMER_SOCKET, cookie=customer_cookie(await customer_token(app, bob))) as panel:
        assert (await panel.next("state"))["chat"] is None
        await panel.send(type="resume", chat=ada_chat, after=0)
        assert (await panel.next("error"))["code"] == "chat_not_found"
        await panel.send(type="end", chat=ada_chat)
        assert (await panel.next("error"))["code"] == "chat_not_found"
        assert not [event for event in panel.seen if event["type"] == "history"]
    assert (await Chat.objects().get(Chat.id == ada_chat)).status == "waiting"


async def test_sockets_open_only_from_this_site_and_with_a_session(served: str, app: Litestar) -> None:
    ada = await customer()
    cookie = customer_cookie(await customer_token(app, ada))
    for origin in ("https://evil.example", None):
        with pytest.raises(InvalidStatus) as refused:
            async with socket(served, CUSTOMER_SOCKET, cookie=cookie, origin=origin):
                pass
        assert refused.value.response.status_code == 403
    async with socket(served, CUSTOMER_SOCKET, cookie=customer_cookie("forged")) as panel:
        assert await panel.closed_with() == 4401
    async with socket(served, AGENT_SOCKET, cookie=cookie) as desk:  # a customer is not staff
        assert await desk.closed_with() == 4403
    _, billing_token = await agent("bea", role="billing")  # staff, but not a role that works tickets
    async with socket(served, AGENT_SOCKET, cookie=staff_cookie(billing_token)) as desk:
        assert await desk.closed_with() == 4403


async def test_frames_are_limited_in_size_kind_and_pace(served: str, app: Litestar) -> None:
    sam, _ = await agent("sam")
    await app.state.chat.presence.join(f"{sam.id}:tab")
    cookie = customer_cookie(await customer_token(app, await customer()))
    async with socket(served, CUSTOMER_SOCKET, cookie=cookie) as panel:
        await panel.next("state")
        await panel.send(type="message", body="x" * (MAX_CHAT_MESSAGE + 1), ref="long")
        assert (await panel.next("error", ref="long"))["code"] == "invalid_chat_message"
        await panel.connection.send("not json")
        assert (await panel.next("error"))["code"] == "bad_frame"
        await panel.send(type="take", chat=1)  # an agent's frame
        assert (await panel.next("error"))["code"] == "bad_frame"
        await panel.connection.send(json.dumps({"type": "message", "body": "x" * MAX_FRAME_CHARS}))
        assert await panel.closed_with() == 1009
    async with socket(served, CUSTOMER_SOCKET, cookie=cookie) as panel:
        await panel.next("state")
        await panel.connection.send(b"\x00\x01")
        assert await panel.closed_with() == 1003
    async with socket(served, CUSTOMER_SOCKET, cookie=cookie) as panel:
        await panel.next("state")
        for _ in range(FRAMES_PER_WINDOW + 1):
            await panel.send(type="typing")
        assert await panel.closed_with() == 1008
    assert await TicketMessage.count() == 0


async def test_the_agents_page_is_for_support_staff(client: httpx.AsyncClient) -> None:
    anonymous = await client.get("/staff/support/chats")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/staff/login?")
    _, token = await agent("sam")
    client.cookies.set("id", token)
    page = await client.get("/staff/support/chats")
    assert page.status_code == 200
    assert 'data-socket="/staff/support/chats/ws"' in page.text and 'src="/static/chat.js"' in page.text
    assert '<a href="/staff/support/chats" aria-current="page">Live chats</a>' in page.text  # in the staff area


async def test_logged_in_customers_get_the_chat_panel_on_portal_pages(client: httpx.AsyncClient) -> None:
    anonymous = await client.get("/")
    assert 'id="chat"' not in anonymous.text
    await sign_up(client)
    for path in ("/", "/account", "/catalog"):
        page = await client.get(path)
        assert 'id="chat" data-socket="/support/chat/ws"' in page.text, path
    csp = page.headers["content-security-policy"]
    assert "connect-src 'self' ws://testserver.local" in csp and "script-src 'self';" in csp
    assert BASE_URL == "http://testserver.local"
