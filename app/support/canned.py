"""Canned replies: ready answers (the ``CannedReply`` table, edited by support staff in the admin) that the
console puts into a reply for the agent to edit and send.

Placeholders are filled by one pass of plain substitution, never by a template engine: ``{{customer_name}}``
becomes the customer's name as typed, even when that name itself looks like ``{{plan}}`` or ``{% ... %}``, so a
customer cannot make the desk evaluate anything. A name the desk does not know stays as written, for the agent
to see and fix. The filled text is a plain-text message like any other: escaped wherever it is shown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from piccolo.apps.user.tables import BaseUser

from app.billing.overview import current_plans
from app.errors import NotFound
from app.subscriptions import manage
from app.support.errors import TicketNotFound
from tables.support import CannedReply, Ticket

PLACEHOLDERS: dict[str, str] = {
    "customer_name": "the customer's name (or their e-mail address)",
    "customer_email": "the customer's e-mail address",
    "plan": "the plans the customer is on now",
    "agent_name": "your name",
    "ticket_id": "the ticket's number",
    "ticket_subject": "the ticket's subject",
    "site_name": "the site's name",
}
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")


@dataclass(frozen=True, slots=True)
class CannedReplyView:
    id: int
    title: str
    body: str


def fill(body: str, values: Mapping[str, str]) -> str:
    """``body`` with every known ``{{name}}`` replaced by its value, verbatim and once."""
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)] if m.group(1) in values else m.group(0), body)


async def active_replies() -> list[CannedReplyView]:
    rows = await CannedReply.select(CannedReply.id, CannedReply.title, CannedReply.body).where(
        CannedReply.active.eq(True)
    ).order_by(CannedReply.title)  # fmt: skip
    return [CannedReplyView(r["id"], r["title"], r["body"]) for r in rows]


async def canned_reply(canned_id: int) -> CannedReplyView:
    row = await CannedReply.select(CannedReply.id, CannedReply.title, CannedReply.body).where(
        CannedReply.id == canned_id, CannedReply.active.eq(True)
    ).first()  # fmt: skip
    if row is None:
        raise NotFound("There is no such canned reply.", code="canned_reply_not_found")
    return CannedReplyView(row["id"], row["title"], row["body"])


async def placeholder_values(ticket_id: int, *, agent_user_id: int, site_name: str) -> dict[str, str]:
    """What each placeholder stands for in a reply to this ticket by this staff member."""
    ticket = await Ticket.select(
        Ticket.subject, Ticket.customer, Ticket.requester_email, Ticket.customer.name.as_alias("name"),
        Ticket.customer.email.as_alias("email"),
    ).where(Ticket.id == ticket_id).first()  # fmt: skip
    if ticket is None:
        raise TicketNotFound(f"There is no ticket #{ticket_id}.")
    agent = await BaseUser.select(BaseUser.username, BaseUser.first_name, BaseUser.last_name).where(
        BaseUser.id == agent_user_id
    ).first()  # fmt: skip
    email = ticket["email"] or ticket["requester_email"]
    plans = current_plans(await manage.list_for(ticket["customer"])) if ticket["customer"] else []
    names = (agent["first_name"], agent["last_name"]) if agent else ()
    return {
        "customer_name": ticket["name"] or email,
        "customer_email": email,
        "plan": ", ".join(plans) or "no current plan",
        "agent_name": " ".join(n for n in names if n) or (agent["username"] if agent else ""),
        "ticket_id": str(ticket_id),
        "ticket_subject": ticket["subject"],
        "site_name": site_name,
    }


async def filled_reply(canned_id: int, ticket_id: int, *, agent_user_id: int, site_name: str) -> str:
    """The canned reply's text for this ticket, placeholders filled."""
    reply = await canned_reply(canned_id)
    return fill(reply.body, await placeholder_values(ticket_id, agent_user_id=agent_user_id, site_name=site_name))


# What the demo's desk starts with (``python -m app seed-demo``); staff edit them in the admin (Support).
DEMO_REPLIES = (
    ("Receipt sent again", "Hello {{customer_name}},\n\nI have sent your receipt again to {{customer_email}}. Every "
     "invoice and receipt is also under Account -> Invoices as a PDF.\n\nBest,\n{{agent_name}}, {{site_name}}"),
    ("How to change plan", "Hello {{customer_name}},\n\nYou are on {{plan}}. Under Account -> Subscriptions, choose "
     "the plan beside \"Change to\" and press \"See what it costs\": you see what you would pay before anything "
     "changes.\n\nBest,\n{{agent_name}}"),
)  # fmt: skip


async def seed_demo_replies() -> None:
    """The demo's canned replies, each once (by title)."""
    for title, body in DEMO_REPLIES:
        if not await CannedReply.exists().where(CannedReply.title == title):
            await CannedReply.insert(CannedReply(title=title, body=body))
