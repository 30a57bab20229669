"""The agents' live chats page (/staff/support/chats): waiting chats to take and the chats the agent holds,
live through its WebSocket (app.support.chat_portal). Having it open is being online for customers."""

from __future__ import annotations

from litestar import Controller, get
from litestar.response import Template

from app.staff.auth import works_on
from app.staff.pages import staff_page
from app.support.chat_portal import AGENT_PAGE
from app.web import AnyRequest
from tables.support import Ticket


class AgentChats(Controller):
    path = AGENT_PAGE.removeprefix("/staff")
    guards = [works_on(Ticket)]

    @get("/", name="staff:chats")
    async def page(self, request: AnyRequest) -> Template:
        return staff_page(request, "staff/support/chats.html", {"socket_path": f"{AGENT_PAGE}/ws"})
