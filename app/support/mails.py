"""The support desk's e-mail out, sent after the commit: a staff member's public reply, and the satisfaction
question when a ticket is solved.

The ``ticket.staff_replied`` outbox event brings ``reply_mail``: the reply's text, a link to the ticket page,
``Reply-To`` the ticket's signed reply address (so the answer threads back into the ticket), and a
``Message-ID`` (given here once, kept on the message row, reused by a retry) with ``In-Reply-To`` /
``References`` to the thread's earlier mail, so mail clients show one conversation. The desk sends nothing
else automatically (no acknowledgements), so an auto-responder can never start a loop with it.

The ``ticket.solve`` outbox event brings ``csat_mail``: five signed links, one per score, to the rating page
(``app.support.csat``), which works without logging in. Its Reply-To is the ticket's reply address too: a
customer who answers with words instead reopens the ticket, as any reply would.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from app.jobs import JobContext, JobQueue
from app.mail import OutgoingMail
from app.mail_templates import render_mail
from app.outbox.service import DomainEvent, Handler, event_job_id
from app.settings import Settings
from app.support import csat
from app.support.mailthread import new_message_id, reply_address, root_message_id
from tables.support import Ticket, TicketMessage

STAFF_REPLIED = "ticket.staff_replied"
SOLVED = "ticket.solve"
TICKET_PATH = "/support/{}"
RATE_PATH = "/support/rate/{}"
MAX_REFERENCES = 10


async def _message_id_of(message_id: int, ticket_id: int, domain: str) -> str:
    """The reply's Message-ID: given once (the first time its mail is written), then always the same."""
    await TicketMessage.update({TicketMessage.email_message_id: new_message_id(ticket_id, domain)}).where(
        (TicketMessage.id == message_id) & (TicketMessage.email_message_id == "")
    )
    row = await TicketMessage.select(TicketMessage.email_message_id).where(TicketMessage.id == message_id).first()
    return str(row["email_message_id"]) if row else ""


async def reply_mail(settings: Settings, message_id: int) -> OutgoingMail | None:
    """The e-mail for a public staff reply; None for an internal note or a message gone since."""
    row = await (
        TicketMessage.select(
            TicketMessage.ticket, TicketMessage.body, TicketMessage.internal, TicketMessage.author_kind,
            TicketMessage.ticket.subject.as_alias("subject"), TicketMessage.ticket.customer.as_alias("customer"),
            TicketMessage.ticket.requester_email.as_alias("requester_email"),
            TicketMessage.ticket._.customer._.email.as_alias("customer_email"),
            TicketMessage.ticket._.customer._.name.as_alias("customer_name"),
        )
        .where(TicketMessage.id == message_id)
        .first()
    )  # fmt: skip
    if row is None or row["internal"] or row["author_kind"] != TicketMessage.Author.staff:
        return None
    to = row["customer_email"] or row["requester_email"]
    if not to:
        return None
    ticket_id = int(row["ticket"])
    domain = settings.support.mail_domain
    own_id = await _message_id_of(message_id, ticket_id, domain)
    earlier = await (
        TicketMessage.select(TicketMessage.email_message_id, TicketMessage.author_kind)
        .where((TicketMessage.ticket == ticket_id) & (TicketMessage.id < message_id)
               & (TicketMessage.email_message_id != ""))
        .order_by(TicketMessage.id)
    )  # fmt: skip
    thread = [r["email_message_id"] for r in earlier]
    customer_mail = [r["email_message_id"] for r in earlier if r["author_kind"] == TicketMessage.Author.customer]
    references = [root_message_id(ticket_id, domain), *thread[-MAX_REFERENCES:]]
    in_reply_to = customer_mail[-1] if customer_mail else references[-1]
    subject = f"Re: {row['subject']} [#{ticket_id}]"
    mail = render_mail(
        "support_reply", to, subject, site_name=settings.site_name, name=row["customer_name"] or "",
        body=row["body"], ticket_id=ticket_id,
        # A customer account sees the whole thread on the ticket page; a stranger's ticket has no page.
        ticket_link=settings.base_url + TICKET_PATH.format(ticket_id) if row["customer"] else "",
        support_email=settings.support.support_email,
    )  # fmt: skip
    answer_to = reply_address(settings.secret_key, settings.support.support_email, ticket_id)
    return replace(
        mail,
        reply_to=f"{settings.site_name} Support <{answer_to}>",
        message_id=own_id,
        in_reply_to=in_reply_to,
        references=" ".join(dict.fromkeys(references)),
    )


async def csat_mail(settings: Settings, ticket_id: int, solved_at: datetime) -> OutgoingMail | None:
    """The satisfaction question for the solve at ``solved_at``; None when the ticket was reopened or solved
    again since (that solve asks for itself), or has nobody to write to."""
    rating_id = await csat.rating_for_solve(ticket_id, solved_at)
    ticket = await (
        Ticket.select(Ticket.subject, Ticket.customer, Ticket.requester_email,
                      Ticket.customer._.email.as_alias("customer_email"), Ticket.customer._.name.as_alias("name"))
        .where(Ticket.id == ticket_id)
        .first()
    )  # fmt: skip
    to = (ticket["customer_email"] or ticket["requester_email"]) if ticket else ""
    if rating_id is None or ticket is None or not to:
        return None
    link = settings.base_url + RATE_PATH.format(csat.link_token(settings.secret_key, rating_id))
    mail = render_mail(
        "support_csat", to, f"How did we do? {ticket['subject']} [#{ticket_id}]", site_name=settings.site_name,
        name=ticket["name"] or "", ticket_id=ticket_id, subject_line=ticket["subject"],
        choices=[(score, label, f"{link}?score={score}") for score, label in sorted(csat.SCORES.items(), reverse=True)],
        support_email=settings.support.support_email,
    )  # fmt: skip
    answer_to = reply_address(settings.secret_key, settings.support.support_email, ticket_id)
    return replace(mail, reply_to=f"{settings.site_name} Support <{answer_to}>")


class SupportSubscribers:
    def __init__(self, settings: Settings, queue: JobQueue) -> None:
        self.settings = settings
        self.queue = queue

    def handlers(self) -> dict[str, list[Handler]]:
        return {STAFF_REPLIED: [self.staff_replied], SOLVED: [self.solved]}

    async def staff_replied(self, event: DomainEvent) -> None:
        mail = await reply_mail(self.settings, int(event.payload["message_id"]))
        if mail is not None:
            await self.queue.enqueue("send_email", mail.to_job(), job_id=event_job_id(event, f"mail:{mail.tag}"))

    async def solved(self, event: DomainEvent) -> None:
        solved_at = datetime.fromisoformat(str(event.payload["at"]))
        mail = await csat_mail(self.settings, int(event.aggregate_id), solved_at)
        if mail is not None:
            await self.queue.enqueue("send_email", mail.to_job(), job_id=event_job_id(event, f"mail:{mail.tag}"))


def support_handlers(ctx: JobContext) -> dict[str, list[Handler]]:
    return SupportSubscribers(ctx["settings"], ctx["queue"]).handlers()
