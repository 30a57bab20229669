"""Support in the admin until the staff console exists: staff reply to a ticket, or change it, through forms that
call the support service (so the e-mail, the state machine's events and the outbox happen as they will from the
console). Forms are not table endpoints: each checks the role itself (the Ticket table's ``update``: support
and superuser) and writes its own audit entry.

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
from app.audit.service import record_audit
from app.errors import DomainError
from app.support import service
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


async def reply_to_ticket(request: Request, data: ReplyToTicketForm) -> str:
    await require(request, Ticket, Action.update)
    actor = actor_fields(request)
    try:
        message_id = await service.staff_reply(
            data.ticket_id, int(request.user.user.id), data.message, internal=data.internal, then=data.then
        )
    except DomainError as exc:
        raise _refusal(exc) from exc
    await record_audit(
        "support.note_added" if data.internal else "support.replied", **actor, target_type="ticket",
        target_id=data.ticket_id, after={"message_id": message_id, "then": "" if data.internal else data.then},
    )  # fmt: skip
    if data.internal:
        return f"Internal note added to ticket #{data.ticket_id}."
    return f"Reply added to ticket #{data.ticket_id}; the customer is e-mailed within seconds. It is now {data.then}."


async def update_ticket(request: Request, data: UpdateTicketForm) -> str:
    await require(request, Ticket, Action.update)
    actor = actor_fields(request)
    done: list[str] = []
    refused: DomainError | None = None
    try:
        if assignee := data.assign_to.strip():
            staff = None if assignee == NOBODY else await staff_by_username(assignee)
            if assignee != NOBODY and staff is None:
                raise StaffOnly(f"{assignee!r} is not a support staff member.")
            await service.assign(data.ticket_id, staff.user_id if staff else None, actor=actor["actor"])
            done.append(f"assigned to {staff.username if staff else 'nobody'}")
        if data.priority:
            await service.set_priority(data.ticket_id, data.priority, actor=actor["actor"])
            done.append(f"priority {data.priority}")
        if data.status:
            await service.move(data.ticket_id, STATUS_EVENTS[data.status], actor=actor["actor"], reason="by staff")
            done.append(data.status)
    except DomainError as exc:
        refused = exc
    if done:  # what changed before a refusal stays changed, and is audited
        await record_audit("support.ticket_updated", **actor, target_type="ticket", target_id=data.ticket_id,
                           after={"changes": ", ".join(done)})  # fmt: skip
    if refused is not None:
        raise _refusal(refused) from refused
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
