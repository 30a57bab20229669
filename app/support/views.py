"""Reading tickets: the customer's list and pages, the staff's whole ticket, and the files (who may have them).

The customer's view (``ticket_for_customer``) is the owner's only (TicketNotFound for anybody else, as for a
ticket that does not exist) and leaves internal notes out; staff's (``ticket_for_staff``) has everything: the
caller checks the staff member first (``app.support.access``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app import clock
from app.support.errors import AttachmentNotFound, TicketNotFound
from app.support.states import CUSTOMER_LABELS, Status
from tables.support import Ticket, TicketAttachment, TicketMessage

Author = TicketMessage.Author

CATEGORIES: dict[str, str] = {
    "billing": "Billing and payments",
    "account": "My account and log-in",
    "library": "The library and its content",
    "technical": "Something is not working",
    "other": "Something else",
}


@dataclass(frozen=True, slots=True)
class AttachmentView:
    id: int
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True, slots=True)
class ThreadMessage:
    id: int
    author_kind: str  # customer, staff, system
    author_name: str
    body: str
    channel: str
    internal: bool
    created_at: datetime
    attachments: list[AttachmentView] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class TicketSummary:
    id: int
    subject: str
    status: str
    status_label: str
    category: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class TicketView:
    id: int
    subject: str
    status: str
    status_label: str
    category: str
    channel: str
    priority: str
    verified: bool
    customer_id: int | None
    requester_email: str
    assignee_id: int | None
    created_at: datetime
    updated_at: datetime
    solved_at: datetime | None
    follow_up_of: int | None
    messages: list[ThreadMessage]

    @property
    def is_closed(self) -> bool:
        return self.status == Status.closed

    @property
    def can_be_solved(self) -> bool:
        return self.status in (Status.new, Status.open, Status.pending)


@dataclass(frozen=True, slots=True)
class AttachmentFile:
    filename: str
    content_type: str
    size: int
    storage_key: str


async def owned_ticket(customer_id: int, ticket_id: int) -> dict[str, Any]:
    """The ticket as a row, if ``customer_id`` owns it; else TicketNotFound (as if it did not exist)."""
    row = await Ticket.select().where((Ticket.id == ticket_id) & (Ticket.customer == customer_id)).first()
    if row is None:
        raise TicketNotFound("There is no such request.")
    return dict(row)


def _summary(row: dict[str, Any]) -> TicketSummary:
    return TicketSummary(
        id=row["id"], subject=row["subject"], status=row["status"], status_label=CUSTOMER_LABELS[Status(row["status"])],
        category=CATEGORIES.get(row["category"], row["category"]), created_at=clock.as_utc(row["created_at"]),
        updated_at=clock.as_utc(row["updated_at"]),
    )  # fmt: skip


async def list_tickets(customer_id: int) -> list[TicketSummary]:
    """The customer's tickets, most recently active first."""
    rows = await Ticket.select().where(Ticket.customer == customer_id).order_by(Ticket.updated_at, ascending=False)
    return [_summary(dict(row)) for row in rows]


async def _thread(ticket_id: int, *, with_internal: bool, customer_view: bool) -> list[ThreadMessage]:
    query = TicketMessage.select(
        *TicketMessage.all_columns(), TicketMessage.staff_author.username.as_alias("staff_name")
    ).where(TicketMessage.ticket == ticket_id)
    if not with_internal:
        query = query.where(TicketMessage.internal.eq(False))
    rows = await query.order_by(TicketMessage.id)
    files = await TicketAttachment.select().where(TicketAttachment.ticket == ticket_id).order_by(TicketAttachment.id)
    by_message: dict[int, list[AttachmentView]] = {}
    for f in files:
        view = AttachmentView(f["id"], f["filename"], f["content_type"], f["size"])
        by_message.setdefault(f["message"], []).append(view)

    def author(row: dict[str, Any]) -> str:
        if row["author_kind"] == Author.customer:
            return "You" if customer_view else (row["from_address"] or "Customer")
        if row["author_kind"] == Author.staff:
            return "Support team" if customer_view else (row["staff_name"] or "Staff")
        return "Support desk"

    return [
        ThreadMessage(
            id=row["id"], author_kind=row["author_kind"], author_name=author(row), body=row["body"],
            channel=row["channel"], internal=row["internal"], created_at=clock.as_utc(row["created_at"]),
            attachments=by_message.get(row["id"], []),
        )
        for row in rows
    ]  # fmt: skip


def _view(row: dict[str, Any], messages: list[ThreadMessage]) -> TicketView:
    summary = _summary(row)
    return TicketView(
        id=summary.id, subject=summary.subject, status=summary.status, status_label=summary.status_label,
        category=summary.category, channel=row["channel"], priority=row["priority"], verified=row["verified"],
        customer_id=row["customer"], requester_email=row["requester_email"], assignee_id=row["assignee"],
        created_at=summary.created_at, updated_at=summary.updated_at,
        solved_at=clock.as_utc(row["solved_at"]) if row["solved_at"] else None, follow_up_of=row["follow_up_of"],
        messages=messages,
    )  # fmt: skip


async def ticket_for_customer(customer_id: int, ticket_id: int) -> TicketView:
    """The owner's view of a ticket (no internal notes); TicketNotFound for anybody else."""
    row = await owned_ticket(customer_id, ticket_id)
    return _view(row, await _thread(ticket_id, with_internal=False, customer_view=True))


async def ticket_for_staff(ticket_id: int) -> TicketView:
    """Everything about a ticket, internal notes included: for support staff only (check with app.support.access)."""
    row = await Ticket.select().where(Ticket.id == ticket_id).first()
    if row is None:
        raise TicketNotFound(f"There is no ticket #{ticket_id}.")
    return _view(dict(row), await _thread(ticket_id, with_internal=True, customer_view=False))


async def attachment_file(attachment_id: int, *, customer_id: int | None, staff: bool = False) -> AttachmentFile:
    """A ticket file for its owner (``customer_id``) or for support staff (``staff``); AttachmentNotFound for
    anybody else, so nobody learns which attachment ids exist. A file of an internal note is staff's only."""
    query = TicketAttachment.select(
        TicketAttachment.filename, TicketAttachment.content_type, TicketAttachment.size,
        TicketAttachment.storage_key, TicketAttachment.ticket.customer.as_alias("owner"),
        TicketAttachment.message.internal.as_alias("internal"),
    ).where(TicketAttachment.id == attachment_id)  # fmt: skip
    row = await query.first()
    if row is None or not (staff or (customer_id is not None and row["owner"] == customer_id and not row["internal"])):
        raise AttachmentNotFound("There is no such file.")
    return AttachmentFile(row["filename"], row["content_type"], row["size"], row["storage_key"])
