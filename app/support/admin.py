"""Support in the admin, beside the staff console (/staff/support): staff reply to a ticket, or change it,
through forms that do what the console does (``app.support.agent``: the support service's events, outbox and
mail, and an audit entry in the same transaction). Forms are not table endpoints: each checks the role itself
(the Ticket table's ``update``: support and superuser).

In the table views a ticket's status, assignee and priority are read-only (they change here, with their
events), its messages and events are read-only evidence, and the deflection counts are read-only.
"""

from __future__ import annotations

from typing import Literal

from piccolo_admin.endpoints import FormConfig
from pydantic import BaseModel, Field
from starlette.requests import Request

from app.admin_audit import actor_fields
from app.admin_permissions import Action, require
from app.errors import DomainError
from app.support import agent, service
from app.support.access import staff_by_username
from app.support.errors import StaffOnly, TicketFormError
from app.support.states import Event
from tables.support import Ticket

FORM_GROUP = "Support"
NOBODY = "-"
STATUS_EVENTS = {"open": Event.open, "pending": Event.await_customer, "solved": Event.solve, "closed": Event.close}


class ReplyToTicketForm(BaseModel):
    ticket_id: int = Field(description="The ticket's number (Support -> ticket).")
    message: str = Field(min_length=1, max_length=service.MAX_MESSAGE, description="E-mailed to the customer, "
                         "with a link to the ticket; their answer by e-mail comes back into the ticket.")  # fmt: skip
    internal: bool = Field(default=False, description="An internal note: only staff see it, nothing is e-mailed.")
    then: Literal["pending", "open", "solved"] = Field(
        default="pending", description="After a public reply: pending (waiting on the customer), open or solved."
    )


class UpdateTicketForm(BaseModel):
    ticket_id: int
    assign_to: str = Field(default="", description=f"A support staff username; {NOBODY} for nobody; empty: unchanged.")
    priority: Literal["", "low", "normal", "high", "urgent"] = Field(default="", description="Empty: unchanged.")
    status: Literal["", "open", "pending", "solved", "closed"] = Field(
        default="", description="Empty: unchanged. Only a solved ticket can be closed."
    )


def _refusal(exc: DomainError) -> ValueError:
    """piccolo-admin shows a ValueError's message on the form."""
    detail = " ".join(exc.fields.values()) if isinstance(exc, TicketFormError) else exc.detail
    return ValueError(detail)


def _agent(request: Request) -> agent.Agent:
    fields = actor_fields(request)
    return agent.Agent(int(request.user.user.id), fields["actor_label"], fields["ip"])


async def reply_to_ticket(request: Request, data: ReplyToTicketForm) -> str:
    await require(request, Ticket, Action.update)
    try:
        await agent.reply(_agent(request), data.ticket_id, data.message, internal=data.internal, then=data.then)
    except DomainError as exc:
        raise _refusal(exc) from exc
    if data.internal:
        return f"Internal note added to ticket #{data.ticket_id}."
    return f"Reply added to ticket #{data.ticket_id}; the customer is e-mailed within seconds. It is now {data.then}."


async def update_ticket(request: Request, data: UpdateTicketForm) -> str:
    """All the changes asked, or none of them (a refusal names why)."""
    await require(request, Ticket, Action.update)
    try:
        assign_to: int | agent.Unchanged | None = agent.UNCHANGED
        if assignee := data.assign_to.strip():
            staff = None if assignee == NOBODY else await staff_by_username(assignee)
            if assignee != NOBODY and staff is None:
                raise StaffOnly(f"{assignee!r} is not a support staff member.")
            assign_to = staff.user_id if staff else None
        done = await agent.update(
            _agent(request), data.ticket_id, assign_to=assign_to, priority=data.priority,
            move=STATUS_EVENTS[data.status] if data.status else None,
        )  # fmt: skip
    except DomainError as exc:
        raise _refusal(exc) from exc
    return f"Ticket #{data.ticket_id}: {', '.join(done) or 'nothing to change'}."


def support_forms() -> list[FormConfig]:
    return [
        FormConfig(
            name="Reply to ticket",
            pydantic_model=ReplyToTicketForm,
            endpoint=reply_to_ticket,
            description="Answer a customer (e-mailed, threaded by the ticket's reply address) or add an internal note.",
            form_group=FORM_GROUP,
        ),
        FormConfig(
            name="Update ticket",
            pydantic_model=UpdateTicketForm,
            endpoint=update_ticket,
            description="Assign, prioritise, or move a ticket (open, pending, solved, closed), with its events.",
            form_group=FORM_GROUP,
        ),
    ]
