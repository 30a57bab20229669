"""Support mail over real SMTP to the listener: new tickets from customers, replies threaded by the signed
address or by headers, quoted history stripped, files kept by content, machines ignored, strangers marked."""

from __future__ import annotations

from typing import Any

import aiosmtplib
import httpx
import pytest
from piccolo.apps.user.tables import BaseUser

from app import clock
from app.settings import Settings
from app.support import service
from app.support.mailthread import reply_address
from app.support.service import SupportDesk
from tables.accounts import Customer
from tables.support import Ticket, TicketAttachment, TicketMessage
from tasks.outbox import dispatch_outbox
from tests import factories
from tests.integration.support.conftest import with_support
from tests.smtp import Mailbox
from tests.support import EXE, PNG, customer_mail, inbound_listener, send

SUPPORT = "support@recurra.localhost"


@pytest.fixture
async def grace(client: httpx.AsyncClient) -> Customer:
    return await factories.customer(email="grace@example.com", name="Grace", email_verified_at=clock.now())


async def messages(ticket_id: int) -> list[dict[str, Any]]:
    rows = await TicketMessage.select(
        TicketMessage.author_kind, TicketMessage.channel, TicketMessage.body, TicketMessage.from_address
    ).where(TicketMessage.ticket == ticket_id).order_by(TicketMessage.id)  # fmt: skip
    return [dict(r) for r in rows]


async def staff_reply_mail(
    ticket_id: int, agent: BaseUser, job_ctx: dict[str, Any], mailbox: Mailbox, text: str = "Which browser?"
) -> Any:
    sent_before = len(mailbox.tagged("support_reply"))
    await service.staff_reply(ticket_id, agent.id, text)
    await dispatch_outbox(job_ctx)
    [*_, mail] = await mailbox.wait_for("support_reply", count=sent_before + 1)
    return mail


async def test_a_customer_writes_in_and_their_answer_to_our_reply_threads_back_without_the_quote(
    grace: Customer, listener: int, agent: BaseUser, job_ctx: dict[str, Any], mailbox: Mailbox
) -> None:
    files = [("error.png", "image/png", PNG), ("tool.png", "image/png", EXE)]
    await send(listener, customer_mail("Grace <Grace@Example.com>", SUPPORT, "Cannot log in", "My password fails.",
                                       files=files))  # fmt: skip
    ticket = await Ticket.objects().first()
    assert ticket is not None
    assert (ticket.customer, ticket.channel, ticket.verified, ticket.subject) == (
        grace.id,
        "email",
        True,
        "Cannot log in",
    )
    thread = await messages(ticket.id)
    assert thread[0] == {"author_kind": "customer", "channel": "email", "body": "My password fails.",
                         "from_address": "grace@example.com"}  # fmt: skip
    assert thread[1]["author_kind"] == "system" and "tool.png is not a kind of file we accept" in thread[1]["body"]
    files = await TicketAttachment.select(TicketAttachment.filename, TicketAttachment.content_type)
    assert files == [{"filename": "error.png", "content_type": "image/png"}]

    ours = await staff_reply_mail(ticket.id, agent, job_ctx, mailbox)
    assert (await Ticket.select(Ticket.status).where(Ticket.id == ticket.id).first()) == {"status": "pending"}
    answer = customer_mail(
        "grace@example.com", ours["Reply-To"], f"Re: {ours['Subject']}",
        "Firefox, on Linux.\n\nOn Mon, 1 Dec 2026 at 10:00, Recurra Support <\n"
        f"{SUPPORT}> wrote:\n> Which browser?\n> --\n> Reply to this e-mail\n",
        headers={"In-Reply-To": ours["Message-ID"], "References": f"{ours['References']} {ours['Message-ID']}"},
    )  # fmt: skip
    await send(listener, answer)
    assert await Ticket.count() == 1
    thread = await messages(ticket.id)
    assert [m["body"] for m in thread] == [thread[0]["body"], thread[1]["body"], "Which browser?", "Firefox, on Linux."]
    assert (await Ticket.select(Ticket.status).where(Ticket.id == ticket.id).first()) == {"status": "open"}


async def test_the_signed_address_threads_from_any_address_and_a_forged_one_does_not(
    grace: Customer, listener: int, settings: Settings
) -> None:
    await send(listener, customer_mail("grace@example.com", SUPPORT, "Invoice", "Where is my invoice?"))
    ticket = await Ticket.objects().first()
    assert ticket is not None
    signed = reply_address(settings.secret_key, SUPPORT, ticket.id)
    await send(listener, customer_mail("grace.work@example.org", signed.upper(), "Re: Invoice", "Found it, thanks."))
    assert [m["body"] for m in await messages(ticket.id)][-1] == "Found it, thanks."

    forged = f"support+t{ticket.id}-{'0' * 20}@recurra.localhost"
    await send(listener, customer_mail("grace@example.com", forged, "Re: Invoice", "Forged"))
    assert await Ticket.count() == 2  # not threaded: a new ticket of its own
    assert "Forged" not in [m["body"] for m in await messages(ticket.id)]


async def test_headers_thread_a_reply_only_from_the_tickets_own_address(
    grace: Customer, listener: int, agent: BaseUser, job_ctx: dict[str, Any], mailbox: Mailbox
) -> None:
    await send(listener, customer_mail("grace@example.com", SUPPORT, "Plans", "Is there a family plan?"))
    ticket = await Ticket.objects().first()
    assert ticket is not None
    ours = await staff_reply_mail(ticket.id, agent, job_ctx, mailbox, "Not yet.")
    threading = {"In-Reply-To": ours["Message-ID"], "References": ours["References"]}
    # Answered to the plain support address (the reply address was lost), from Grace's own address: threaded.
    await send(listener, customer_mail("grace@example.com", SUPPORT, "Re: Plans", "Pity!", headers=threading))
    assert [m["body"] for m in await messages(ticket.id)][-1] == "Pity!"
    # The same headers from somebody else: Message-IDs are not secret, so that is a ticket of its own.
    await send(listener, customer_mail("mallory@example.net", SUPPORT, "Re: Plans", "Me too", headers=threading))
    assert "Me too" not in [m["body"] for m in await messages(ticket.id)]
    other = await Ticket.objects().where(Ticket.id != ticket.id).first()
    assert other is not None and not other.verified and other.requester_email == "mallory@example.net"


@pytest.mark.parametrize(
    ("headers", "sender"),
    [
        ({"Auto-Submitted": "auto-replied"}, None),
        ({"Precedence": "bulk"}, None),
        ({"X-Autoreply": "yes"}, None),
        ({}, ""),  # an empty return path: a bounce
    ],
)
async def test_machines_never_open_or_touch_a_ticket(
    headers: dict[str, str],
    sender: str | None,
    grace: Customer,
    listener: int,
    agent: BaseUser,
    job_ctx: dict[str, Any],
    mailbox: Mailbox,
    settings: Settings,
) -> None:
    await send(listener, customer_mail("grace@example.com", SUPPORT, "Hello", "A question"))
    ticket = await Ticket.objects().first()
    assert ticket is not None
    ours = await staff_reply_mail(ticket.id, agent, job_ctx, mailbox)
    await send(listener, customer_mail("grace@example.com", ours["Reply-To"], "Out of office", "I am away.",
                                       headers=headers), sender=sender)  # fmt: skip
    await send(listener, customer_mail("grace@example.com", SUPPORT, "Out of office", "I am away.",
                                       headers=headers), sender=sender)  # fmt: skip
    assert await Ticket.count() == 1
    assert "I am away." not in [m["body"] for m in await messages(ticket.id)]
    assert (await Ticket.select(Ticket.status).first()) == {"status": "pending"}
    await dispatch_outbox(job_ctx)
    assert len(mailbox.tagged("support_reply")) == 1  # no answer to a machine: no loop


async def test_mail_from_the_desk_itself_is_ignored(listener: int, settings: Settings) -> None:
    await send(listener, customer_mail(settings.mail.from_address, SUPPORT, "Loop?", "Our own mail"))
    await send(listener, customer_mail(SUPPORT, SUPPORT, "Loop?", "Our own mail"))
    assert not await Ticket.exists()


async def test_strangers_get_an_unverified_ticket_or_a_refusal(
    client: httpx.AsyncClient, desk: SupportDesk, listener: int
) -> None:
    unconfirmed = await factories.customer(email="new@example.com")  # an account whose address is not confirmed
    await send(listener, customer_mail("new@example.com", SUPPORT, "Hi", "Is this Recurra?"))
    ticket = await Ticket.objects().first()
    assert ticket is not None
    assert (ticket.customer, ticket.verified, ticket.requester_email) == (None, False, unconfirmed.email)

    async with inbound_listener(with_support(desk, unknown_senders="reject")) as strict:
        with pytest.raises(aiosmtplib.SMTPDataError) as refused:
            await send(strict, customer_mail("stranger@example.net", SUPPORT, "Hi", "Hello"))
    assert refused.value.code == 550
    assert await Ticket.count() == 1


async def test_only_the_support_address_receives_mail(listener: int) -> None:
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
        await send(listener, customer_mail("grace@example.com", "sales@recurra.localhost", "Hi", "Hello"))
    assert not await Ticket.exists()


async def test_a_retried_delivery_is_kept_once_and_a_closed_ticket_gets_a_follow_up(
    grace: Customer, listener: int, settings: Settings
) -> None:
    first = customer_mail("grace@example.com", SUPPORT, "Export", "How do I export my data?")
    await send(listener, first)
    await send(listener, first)  # the sending server did not hear our 250 and tried again
    ticket = await Ticket.objects().first()
    assert ticket is not None
    assert await Ticket.count() == 1 and await TicketMessage.count() == 1

    await Ticket.update({Ticket.status: "closed"}).where(Ticket.id == ticket.id)
    signed = reply_address(settings.secret_key, SUPPORT, ticket.id)
    await send(listener, customer_mail("grace@example.com", signed, f"Re: Export [#{ticket.id}]", "One more thing"))
    follow_up = await Ticket.objects().where(Ticket.id != ticket.id).first()
    assert follow_up is not None
    assert (follow_up.follow_up_of, follow_up.customer, follow_up.subject) == (ticket.id, grace.id, "Export")
    assert [m["body"] for m in await messages(follow_up.id)] == [
        "One more thing",
        f"Follow-up to the closed request #{ticket.id}.",
    ]


async def test_new_tickets_by_mail_are_rate_limited_per_sender(client: httpx.AsyncClient, desk: SupportDesk) -> None:
    async with inbound_listener(with_support(desk, tickets_per_hour=2)) as port:
        for n in range(2):
            await send(port, customer_mail("flood@example.net", SUPPORT, f"Spam {n}", "Buy now"))
        with pytest.raises(aiosmtplib.SMTPDataError) as deferred:
            await send(port, customer_mail("flood@example.net", SUPPORT, "Spam 3", "Buy now"))
    assert deferred.value.code == 451  # the sending server may try later
    assert await Ticket.count() == 2
