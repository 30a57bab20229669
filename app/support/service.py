"""The support desk's domain API: tickets and their one thread of messages, whatever the channel.

A ticket is a conversation; web form, e-mail and (later) chat all append TicketMessage rows to it. Customers
open tickets, reply and mark them solved (``open_ticket``, ``customer_reply``, ``solve_by_customer``); staff
reply publicly or leave internal notes, assign, prioritise and solve (``staff_reply``, ``assign``,
``set_priority``, ``move``). Status changes go through the state machine in ``app.support.states`` (a
TicketEvent row and a ``ticket.<event>`` outbox event each); assignment and priority changes leave TicketEvent
rows too, so a ticket's history is one list. A public staff reply records ``ticket.staff_replied``: the
e-mail to the customer leaves from the outbox after the commit (``app.support.mails``).

Reads are in ``app.support.views`` (``list_tickets``, ``ticket_for_customer``, ``ticket_for_staff``,
``attachment_file``); who may read them in ``app.support.access``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from app import clock
from app.audit.service import actor_for_customer, actor_for_staff
from app.db import locked_row, write_transaction
from app.outbox import service as outbox
from app.ratelimit import RateLimiter
from app.settings import Settings
from app.statemachine import Move, write_transition, write_transitions
from app.support import deflection
from app.support.access import staff_by_id
from app.support.attachments import AttachmentStore, CheckedFile, Upload, check_all
from app.support.errors import (
    StaffOnly,
    TicketClosed,
    TicketFormError,
    TicketNotFound,
    TooManyTickets,
)
from app.support.states import MACHINE, Event, Status
from app.support.views import CATEGORIES, owned_ticket
from tables.accounts import Customer
from tables.support import Ticket, TicketAttachment, TicketEvent, TicketMessage

Channel = Ticket.Channel
Author = TicketMessage.Author
SYSTEM_ACTOR = "system:support"

MAX_SUBJECT = 200
MAX_MESSAGE = 10_000  # characters a message may have (an e-mail's longer text is cut, and says so)
CREATE_WINDOW_S = 3600
CLOSED = "This request is closed. Please open a new one; we will see the history."
# What a public staff reply leaves the ticket as ("then"), as the event that gets it there.
AFTER_REPLY = {Status.pending: Event.await_customer, Status.open: Event.open, Status.solved: Event.solve}


@dataclass(frozen=True, slots=True)
class SupportDesk:
    """What the customer-facing operations need from outside: settings, the shared rate limiter and the files."""

    settings: Settings
    limiter: RateLimiter
    store: AttachmentStore


# --- input rules ------------------------------------------------------------------------------------------


def clean_subject(subject: str) -> str:
    """One line, without the "Re:"/"Fwd:" prefixes and "[#12]" tags mail adds."""
    text = " ".join(subject.split())
    while True:
        head, _, rest = text.partition(":")
        if rest and head.strip().lower() in {"re", "aw", "fw", "fwd", "wg", "tr", "sv"}:
            text = rest.strip()
            continue
        break
    if text.endswith("]") and " [#" in text:
        text = text[: text.rindex(" [#")].rstrip()
    return text


def _checked_message(body: str, fields: dict[str, str]) -> str:
    text = body.replace("\r\n", "\n").strip()
    if not text:
        fields["body"] = "Write your message."
    elif len(text) > MAX_MESSAGE:
        fields["body"] = f"Keep it under {MAX_MESSAGE:,} characters ({len(text):,} now); attach longer logs as a file."
    return text


def _checked_files(desk: SupportDesk, uploads: Sequence[Upload], fields: dict[str, str]) -> list[CheckedFile]:
    files, refused = check_all([u for u in uploads if u.data or u.filename], desk.settings.support.max_attachment_bytes)
    if refused:
        fields["attachments"] = " ".join(refused)
    return files


async def enforce_creation_limit(desk: SupportDesk, who: str) -> None:
    decision = await desk.limiter.hit(f"support:new:{who}", desk.settings.support.tickets_per_hour, CREATE_WINDOW_S)
    if not decision.allowed:
        raise TooManyTickets(decision.retry_after_s)


# --- writes -----------------------------------------------------------------------------------------------


async def _event(ticket_id: int, event: str, status: str, actor: str, reason: str = "") -> None:
    """A TicketEvent for what is not a status change (creation, assignment, priority)."""
    from_status = "" if event == "create" else status
    await TicketEvent.insert(
        TicketEvent(
            ticket=ticket_id, event=event, from_status=from_status, to_status=status, actor=actor[:100],
            reason=reason[:2000], occurred_at=clock.now(),
        )
    )  # fmt: skip


async def _add_message(
    ticket_id: int,
    author: Author,
    body: str,
    *,
    channel: str,
    staff_id: int | None = None,
    internal: bool = False,
    from_address: str = "",
    email_message_id: str = "",
    files: Sequence[tuple[CheckedFile, str]] = (),
) -> int:
    now = clock.now()
    rows = await TicketMessage.insert(
        TicketMessage(
            ticket=ticket_id, author_kind=author, staff_author=staff_id, channel=channel, body=body,
            internal=internal, from_address=from_address[:320], email_message_id=email_message_id[:998],
            created_at=now,
        )
    ).returning(TicketMessage.id)  # fmt: skip
    message_id = int(rows[0]["id"])
    if files:
        await TicketAttachment.insert(
            *(
                TicketAttachment(
                    ticket=ticket_id, message=message_id, filename=file.filename, content_type=file.content_type,
                    size=len(file.data), storage_key=key, created_at=now,
                )
                for file, key in files
            )
        )  # fmt: skip
    await Ticket.update({Ticket.updated_at: now}).where(Ticket.id == ticket_id)
    return message_id


@dataclass(frozen=True, slots=True)
class CustomerMessage:
    """What the customer sent, checked, by whichever channel; ``notes`` become system messages after it
    (files an e-mail brought that were not kept, a text that was cut)."""

    body: str
    channel: str = Channel.web
    files: Sequence[CheckedFile] = ()
    from_address: str = ""
    email_message_id: str = ""
    notes: Sequence[str] = ()


@asynccontextmanager
async def _writing(desk: SupportDesk, message: CustomerMessage) -> AsyncIterator[list[tuple[CheckedFile, str]]]:
    """Store the message's files, then open the write transaction; if it fails, the files go again."""
    stored = [(file, await desk.store.save(file)) for file in message.files]
    try:
        async with write_transaction():
            yield stored
    except BaseException:
        desk.store.discard([key for _, key in stored])
        raise


async def _add_customer_message(
    ticket_id: int, message: CustomerMessage, stored: Sequence[tuple[CheckedFile, str]]
) -> int:
    message_id = await _add_message(
        ticket_id, Author.customer, message.body, channel=message.channel, from_address=message.from_address,
        email_message_id=message.email_message_id, files=stored,
    )  # fmt: skip
    for note in message.notes:
        await _add_message(ticket_id, Author.system, note, channel=message.channel)
    return message_id


@dataclass(frozen=True, slots=True)
class NewTicket:
    """Who opens a ticket and about what."""

    customer_id: int | None
    actor: str
    subject: str
    category: str = "other"
    requester_email: str = ""
    verified: bool = True
    follow_up_of: int | None = None


async def create_ticket(desk: SupportDesk, new: NewTicket, message: CustomerMessage, *, draft: str = "") -> int:
    """Write a checked ticket with its first message and files (any channel); ``draft``: the form visit it
    came from, for the deflection count."""
    async with _writing(desk, message) as stored:
        rows = await Ticket.insert(
            Ticket(
                customer=new.customer_id, subject=new.subject, category=new.category, channel=message.channel,
                requester_email=new.requester_email, verified=new.verified, follow_up_of=new.follow_up_of,
                created_at=clock.now(), updated_at=clock.now(),
            )
        ).returning(Ticket.id)  # fmt: skip
        ticket_id = int(rows[0]["id"])
        await _event(ticket_id, "create", Status.new, new.actor, f"by {message.channel}")
        message_id = await _add_customer_message(ticket_id, message, stored)
        if new.customer_id is not None and draft:
            await deflection.mark_submitted(new.customer_id, draft, ticket_id)
        await outbox.record(
            "ticket.created", "ticket", ticket_id,
            {"ticket_id": ticket_id, "message_id": message_id, "channel": message.channel, "verified": new.verified},
        )  # fmt: skip
    return ticket_id


async def open_ticket(
    desk: SupportDesk,
    customer: Customer,
    *,
    subject: str,
    category: str,
    body: str,
    uploads: Sequence[Upload] = (),
    draft: str = "",
) -> int:
    """A customer's new ticket from the portal form; TicketFormError names each field to fix."""
    fields: dict[str, str] = {}
    subject = clean_subject(subject)
    if not subject:
        fields["subject"] = "Say in a few words what it is about."
    elif len(subject) > MAX_SUBJECT:
        fields["subject"] = f"Keep the subject under {MAX_SUBJECT} characters."
    if category not in CATEGORIES:
        fields["category"] = "Choose what it is about."
    text = _checked_message(body, fields)
    files = _checked_files(desk, uploads, fields)
    if fields:
        raise TicketFormError(fields)
    await enforce_creation_limit(desk, f"customer:{customer.id}")
    new = NewTicket(customer_id=customer.id, actor=actor_for_customer(customer.id), subject=subject,
                    category=category, requester_email=customer.email)  # fmt: skip
    return await create_ticket(desk, new, CustomerMessage(text, files=files), draft=draft)


async def append_customer_message(desk: SupportDesk, ticket_id: int, message: CustomerMessage, *, actor: str) -> int:
    """Add the customer's message to an open ticket (any channel); a pending or solved ticket goes back on the
    desk. A closed ticket refuses (TicketClosed): writing again is a follow-up ticket."""
    async with _writing(desk, message) as stored:
        ticket = await locked_row(Ticket, ticket_id)
        if ticket is None:
            raise TicketNotFound("There is no such request.")
        if ticket["status"] == Status.closed:
            raise TicketClosed(CLOSED)
        message_id = await _add_customer_message(ticket_id, message, stored)
        if ticket["status"] in (Status.pending, Status.solved):
            await write_transition(MACHINE, Ticket, TicketEvent, ticket_id, Event.reopen, actor=actor,
                                   at=clock.now(), reason=f"customer replied by {message.channel}")  # fmt: skip
        await outbox.record(
            "ticket.customer_replied", "ticket", ticket_id,
            {"ticket_id": ticket_id, "message_id": message_id, "channel": message.channel},
        )  # fmt: skip
    return message_id


async def customer_reply(
    desk: SupportDesk, customer_id: int, ticket_id: int, body: str, uploads: Sequence[Upload] = ()
) -> int:
    """The owner's reply from the ticket page."""
    ticket = await owned_ticket(customer_id, ticket_id)
    if ticket["status"] == Status.closed:
        raise TicketClosed(CLOSED)
    fields: dict[str, str] = {}
    text = _checked_message(body, fields)
    files = _checked_files(desk, uploads, fields)
    if fields:
        raise TicketFormError(fields)
    return await append_customer_message(
        desk, ticket_id, CustomerMessage(text, files=files), actor=actor_for_customer(customer_id)
    )


async def solve_by_customer(customer_id: int, ticket_id: int) -> None:
    """The owner says "this is solved"; saying it twice changes nothing."""
    ticket = await owned_ticket(customer_id, ticket_id)
    if ticket["status"] == Status.solved:
        return
    if ticket["status"] == Status.closed:
        raise TicketClosed("This request is closed already.")
    await move(ticket_id, Event.solve, actor=actor_for_customer(customer_id), reason="the customer solved it")


async def staff_reply(
    ticket_id: int, staff_user_id: int, body: str, *, internal: bool = False, then: str = Status.pending
) -> int:
    """A staff member's public reply (e-mailed to the customer after the commit, with a link to the ticket) or,
    with ``internal``, a note only staff see. A public reply leaves the ticket ``then``: pending (waiting on the
    customer, the default), open or solved. Returns the message id."""
    staff = await staff_by_id(staff_user_id)
    if staff is None:
        raise StaffOnly("Only support staff reply to tickets.")
    fields: dict[str, str] = {}
    text = _checked_message(body, fields)
    if fields:
        raise TicketFormError(fields)
    if not internal and then not in AFTER_REPLY:
        raise TicketFormError({"then": "After a reply a ticket is pending, open or solved."})
    actor = actor_for_staff(staff_user_id)
    async with write_transaction():
        ticket = await locked_row(Ticket, ticket_id)
        if ticket is None:
            raise TicketNotFound(f"There is no ticket #{ticket_id}.")
        if ticket["status"] == Status.closed:
            raise TicketClosed(f"Ticket #{ticket_id} is closed; the customer's next message opens a follow-up.")
        if internal:
            return await _add_message(ticket_id, Author.staff, text, channel=Channel.web, staff_id=staff_user_id,
                                      internal=True)  # fmt: skip
        # Its Message-ID is given when the e-mail is written (app.support.mails), on the desk's mail domain.
        message_id = await _add_message(ticket_id, Author.staff, text, channel=Channel.email, staff_id=staff_user_id)
        if ticket["first_response_at"] is None:
            await Ticket.update({Ticket.first_response_at: clock.now()}).where(Ticket.id == ticket_id)
        if ticket["status"] != then:
            await write_transition(MACHINE, Ticket, TicketEvent, ticket_id, AFTER_REPLY[Status(then)], actor=actor,
                                   at=clock.now(), reason="staff replied")  # fmt: skip
        await outbox.record("ticket.staff_replied", "ticket", ticket_id,
                            {"ticket_id": ticket_id, "message_id": message_id})  # fmt: skip
    return message_id


async def record_note(ticket_id: int, body: str, *, staff_user_id: int | None = None) -> int:
    """An internal note of what was done for the ticket elsewhere (a billing action run from it): by the staff
    member who did it, else by the system. Kept on a closed ticket too: it is its history, not a conversation."""
    text = body.strip()[:MAX_MESSAGE]
    if not await Ticket.exists().where(Ticket.id == ticket_id):
        raise TicketNotFound(f"There is no ticket #{ticket_id}.")
    author = Author.staff if staff_user_id is not None else Author.system
    return await _add_message(ticket_id, author, text, channel=Channel.web, staff_id=staff_user_id, internal=True)


async def assign(ticket_id: int, staff_user_id: int | None, *, actor: str) -> bool:
    """Give the ticket to a support staff member (None: to nobody); False when it was theirs already."""
    staff = await staff_by_id(staff_user_id) if staff_user_id is not None else None
    if staff_user_id is not None and staff is None:
        raise StaffOnly("Tickets are assigned to support staff only.")
    async with write_transaction():
        ticket = await locked_row(Ticket, ticket_id)
        if ticket is None:
            raise TicketNotFound(f"There is no ticket #{ticket_id}.")
        if ticket["assignee"] == staff_user_id:
            return False
        await Ticket.update({Ticket.assignee: staff_user_id, Ticket.updated_at: clock.now()}).where(
            Ticket.id == ticket_id
        )
        await _event(ticket_id, "assign", ticket["status"], actor, f"to {staff.username}" if staff else "to nobody")
    return True


async def set_priority(ticket_id: int, priority: str, *, actor: str) -> bool:
    """Change the ticket's priority (and so its service-level targets); False when it had it already."""
    if priority not in {p.value for p in Ticket.Priority}:
        raise TicketFormError({"priority": "Choose low, normal, high or urgent."})
    async with write_transaction():
        ticket = await locked_row(Ticket, ticket_id)
        if ticket is None:
            raise TicketNotFound(f"There is no ticket #{ticket_id}.")
        if ticket["priority"] == priority:
            return False
        await Ticket.update({Ticket.priority: priority, Ticket.updated_at: clock.now()}).where(Ticket.id == ticket_id)
        await _event(ticket_id, "set_priority", ticket["status"], actor, f"{ticket['priority']} -> {priority}")
    return True


async def move(ticket_id: int, event: Event, *, actor: str, reason: str = "") -> str:
    """Move the ticket by ``event`` (IllegalTransition when the table does not allow it); the new status."""
    done = await write_transition(MACHINE, Ticket, TicketEvent, ticket_id, event, actor=actor, at=clock.now(),
                                  reason=reason)  # fmt: skip
    return done.to_status


async def solve(ticket_id: int, *, actor: str, reason: str = "") -> None:
    """Staff mark the ticket solved (it closes by itself SUPPORT_AUTO_CLOSE_DAYS later, unless the customer writes)."""
    await move(ticket_id, Event.solve, actor=actor, reason=reason)


CLOSE_BATCH = 500


async def close_solved_tickets(auto_close_days: int, now: datetime | None = None) -> int:
    """Close every ticket solved ``auto_close_days`` ago or longer without a word since; returns how many."""
    now = now or clock.now()
    cutoff = now - timedelta(days=auto_close_days)
    closed = 0
    while True:
        due = await (
            Ticket.select(Ticket.id)
            .where((Ticket.status == Status.solved) & (Ticket.solved_at <= cutoff))
            .order_by(Ticket.id)
            .limit(CLOSE_BATCH)
        )
        if not due:
            return closed
        reason = f"solved {auto_close_days} days ago"
        moves = [Move(row["id"], Event.close, at=now, reason=reason) for row in due]
        await write_transitions(MACHINE, Ticket, TicketEvent, moves, actor=SYSTEM_ACTOR)
        closed += len(moves)
