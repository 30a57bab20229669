"""E-mail in: what a mail received by the support address becomes.

In order:

1. automatic mail (bounces, auto-replies, lists: ``app.support.inbound``) is accepted and dropped: it never
   opens or touches a ticket, so no auto-responder can start a loop with the desk;
2. the same Message-ID received again (a sending server that retried) changes nothing;
3. a signed reply address (``support+t12-...@``) threads the mail into its ticket, from whichever address the
   customer answers; without it, ``In-Reply-To``/``References`` naming a ticket's mail thread it too, but only
   from the ticket's own requester address (Message-IDs are not secret). A closed ticket gets a follow-up
   ticket instead;
4. otherwise the mail opens a ticket: for a customer whose verified address sent it, theirs; from any other
   address an *unverified* ticket (no customer, staff see the address), or a refusal (``550``) when
   ``SUPPORT_UNKNOWN_SENDERS=reject``. New tickets by e-mail count against the same hourly limit as the web
   form (per customer, or per address): past it the sending server is told to try later (``451``).

Attachments are kept within the web form's limits; those refused are named in a note in the thread.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from email.utils import parseaddr

from app.audit.service import actor_for_customer
from app.errors import NotFound
from app.support import service
from app.support.attachments import check_all
from app.support.errors import TicketClosed, TooManyTickets
from app.support.inbound import InboundMail, read_mail
from app.support.mailthread import ticket_of_addresses, tickets_named_by
from app.support.service import MAX_MESSAGE, Channel, CustomerMessage, NewTicket, SupportDesk, clean_subject
from tables.accounts import Customer
from tables.support import Ticket, TicketMessage

log = logging.getLogger("recurra.support.mail")
NO_SUBJECT = "(no subject)"
UNKNOWN_SENDER = "This address does not belong to a customer; please write from your account's address."


@dataclass(frozen=True, slots=True)
class Received:
    outcome: str  # threaded, opened, follow_up, duplicate, dropped, rejected, deferred
    ticket_id: int | None = None
    detail: str = ""

    @property
    def smtp_reply(self) -> str:
        if self.outcome == "rejected":
            return f"550 5.7.1 {self.detail}"
        if self.outcome == "deferred":
            return f"451 4.7.1 {self.detail}"
        return "250 2.0.0 Message accepted"


def _message(desk: SupportDesk, mail: InboundMail) -> CustomerMessage:
    """The mail as a customer message: its text (cut past the limit), the files within limits, and notes
    saying what was cut or not kept."""
    text = mail.text.strip()
    notes = []
    if len(text) > MAX_MESSAGE:
        text = text[:MAX_MESSAGE].rstrip() + "\n[…]"
        notes.append(f"This e-mail was longer than {MAX_MESSAGE:,} characters; the rest was cut.")
    files, refused = check_all(mail.uploads, desk.settings.support.max_attachment_bytes)
    notes += [f"An attachment of this e-mail was not kept: {reason}" for reason in refused]
    return CustomerMessage(text or "(no text)", channel=Channel.email, files=files, from_address=mail.sender,
                           email_message_id=mail.message_id, notes=notes)  # fmt: skip


async def _requester(ticket_id: int) -> tuple[str, int | None] | None:
    row = await Ticket.select(
        Ticket.requester_email, Ticket.customer, Ticket.customer.email.as_alias("customer_email")
    ).where(Ticket.id == ticket_id).first()  # fmt: skip
    if row is None:
        return None
    return (row["customer_email"] or row["requester_email"]).lower(), row["customer"]


async def _threaded_by_headers(mail: InboundMail, domain: str) -> int | None:
    """A ticket whose mail this one answers (by its headers), written to by that ticket's own requester."""
    if not mail.thread_ids:
        return None
    rows = await TicketMessage.select(TicketMessage.ticket, TicketMessage.email_message_id).where(
        TicketMessage.email_message_id.is_in(mail.thread_ids[:50])
    )
    by_id = {r["email_message_id"]: int(r["ticket"]) for r in rows}
    candidates = [by_id[m] for m in mail.thread_ids if m in by_id] + tickets_named_by(mail.thread_ids, domain)
    for ticket_id in dict.fromkeys(candidates):
        requester = await _requester(ticket_id)
        if requester is not None and requester[0] == mail.sender:
            return ticket_id
    return None


async def _verified_customer(address: str) -> Customer | None:
    verified = Customer.email_verified_at.is_not_null() & (Customer.status == Customer.Status.active)
    customer: Customer | None = await Customer.objects().get((Customer.email == address) & verified)
    return customer


def _sender_actor(mail: InboundMail, customer_id: int | None) -> str:
    return actor_for_customer(customer_id) if customer_id is not None else f"email:{mail.sender}"[:100]


def own_addresses(desk: SupportDesk) -> set[str]:
    """The desk's own addresses: mail from them is never a customer's."""
    return {desk.settings.support.support_email, parseaddr(desk.settings.mail.from_address)[1].lower()}


async def deliver(desk: SupportDesk, data: bytes, *, mail_from: str | None, rcpt_tos: list[str]) -> Received:
    """Receive one raw message (``mail_from``: the envelope's return path, None when unknown)."""
    mail = read_mail(data, mail_from=mail_from, rcpt_tos=rcpt_tos, own_addresses=own_addresses(desk))
    received = await receive(desk, mail)
    log.info("support mail from %s: %s %s %s", mail.sender, received.outcome, received.ticket_id or "",
             received.detail)  # fmt: skip
    return received


async def receive(desk: SupportDesk, mail: InboundMail) -> Received:
    """Decide and record what ``mail`` becomes (see the module's docstring)."""
    if mail.automatic:
        return Received("dropped", detail=mail.automatic)
    if not mail.sender:
        return Received("dropped", detail="no sender address")
    if mail.message_id and await TicketMessage.exists().where(
        (TicketMessage.email_message_id == mail.message_id) & (TicketMessage.channel == Channel.email)
    ):
        return Received("duplicate")
    settings = desk.settings
    ticket_id = ticket_of_addresses(settings.secret_key, settings.support.support_email, mail.recipients)
    if ticket_id is None:
        ticket_id = await _threaded_by_headers(mail, settings.support.mail_domain)
    message = _message(desk, mail)
    if ticket_id is not None and (requester := await _requester(ticket_id)) is not None:
        try:
            await service.append_customer_message(desk, ticket_id, message, actor=_sender_actor(mail, requester[1]))
            return Received("threaded", ticket_id)
        except TicketClosed:
            return await _open(desk, mail, message, follow_up_of=ticket_id)
        except NotFound:
            pass
    return await _open(desk, mail, message)


async def _open(
    desk: SupportDesk, mail: InboundMail, message: CustomerMessage, *, follow_up_of: int | None = None
) -> Received:
    customer = await _verified_customer(mail.sender)
    if customer is None and desk.settings.support.unknown_senders == "reject":
        return Received("rejected", detail=UNKNOWN_SENDER)
    try:
        await service.enforce_creation_limit(desk, f"customer:{customer.id}" if customer else f"email:{mail.sender}")
    except TooManyTickets as limited:
        return Received("deferred", detail=limited.detail)
    new = NewTicket(
        customer_id=customer.id if customer else None,
        actor=_sender_actor(mail, customer.id if customer else None),
        subject=clean_subject(mail.subject)[: service.MAX_SUBJECT] or NO_SUBJECT,
        requester_email=mail.sender,
        verified=customer is not None,
        follow_up_of=follow_up_of,
    )
    if follow_up_of is not None:
        message = replace(message, notes=[f"Follow-up to the closed request #{follow_up_of}.", *message.notes])
    ticket_id = await service.create_ticket(desk, new, message)
    return Received("follow_up" if follow_up_of else "opened", ticket_id)
