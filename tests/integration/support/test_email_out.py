"""A staff reply reaches the customer by e-mail after the commit: its text, a link to the request, a signed
reply address and the headers that thread the conversation in mail clients."""

from __future__ import annotations

from typing import Any

import httpx
from piccolo.apps.user.tables import BaseUser

from app.settings import Settings
from app.support import service
from app.support.mailthread import reply_address, root_message_id, ticket_of_addresses
from app.support.service import SupportDesk
from tables.accounts import Customer
from tables.outbox import OutboxEvent
from tables.support import TicketMessage
from tasks.outbox import dispatch_outbox
from tests.smtp import Mailbox


async def test_a_staff_reply_is_mailed_with_its_text_a_link_and_a_signed_reply_address(
    client: httpx.AsyncClient,
    ada: Customer,
    agent: BaseUser,
    desk: SupportDesk,
    job_ctx: dict[str, Any],
    mailbox: Mailbox,
    settings: Settings,
) -> None:
    ticket_id = await service.open_ticket(desk, ada, subject="Refund?", category="billing", body="I paid twice.")
    first = await service.staff_reply(ticket_id, agent.id, "Sorry about that!\nThe second payment is refunded.")
    assert mailbox.tagged("support_reply") == []  # nothing leaves inside the request: the outbox sends it

    await dispatch_outbox(job_ctx)
    [mail] = await mailbox.wait_for("support_reply")
    assert mail["To"] == ada.email
    assert mail["Subject"] == f"Re: Refund? [#{ticket_id}]"
    text = Mailbox.text(mail).replace("\r\n", "\n")
    assert "Sorry about that!\nThe second payment is refunded." in text
    assert f"{settings.base_url}/support/{ticket_id}" in text
    assert "Sorry about that!" in Mailbox.html(mail) and f"/support/{ticket_id}" in Mailbox.html(mail)
    domain = settings.support.mail_domain
    assert reply_address(settings.secret_key, settings.support.support_email, ticket_id) in mail["Reply-To"]
    assert ticket_of_addresses(settings.secret_key, settings.support.support_email, [mail["Reply-To"]]) == ticket_id
    stored = await TicketMessage.select(TicketMessage.email_message_id).where(TicketMessage.id == first).first()
    assert stored is not None
    assert mail["Message-ID"] == stored["email_message_id"]
    assert mail["Message-ID"].startswith(f"<ticket-{ticket_id}.") and mail["Message-ID"].endswith(f"@{domain}>")
    assert mail["References"] == root_message_id(ticket_id, domain)
    assert mail["In-Reply-To"] == root_message_id(ticket_id, domain)

    await service.staff_reply(ticket_id, agent.id, "Checking: did it arrive?", then="pending")
    await service.staff_reply(ticket_id, agent.id, "Customer is a VIP.", internal=True)
    await dispatch_outbox(job_ctx)
    [_, second] = await mailbox.wait_for("support_reply", count=2)
    assert second["In-Reply-To"] == mail["Message-ID"]
    assert second["References"].split() == [root_message_id(ticket_id, domain), mail["Message-ID"]]
    # The internal note is never mailed: two replies, two mail events, both handled.
    replied = await OutboxEvent.select(OutboxEvent.dispatched_at).where(
        OutboxEvent.event_type == "ticket.staff_replied"
    )
    assert len(replied) == 2 and all(row["dispatched_at"] is not None for row in replied)
    assert all("VIP" not in Mailbox.text(m) for m in mailbox.messages)


async def test_a_reply_to_an_unverified_ticket_goes_to_its_address_without_a_link(
    client: httpx.AsyncClient, agent: BaseUser, desk: SupportDesk, job_ctx: dict[str, Any], mailbox: Mailbox
) -> None:
    new = service.NewTicket(customer_id=None, actor="email:pat@example.net", subject="Student discount?",
                            requester_email="pat@example.net", verified=False)  # fmt: skip
    ticket_id = await service.create_ticket(desk, new, service.CustomerMessage("Do you have one?", channel="email"))
    await service.staff_reply(ticket_id, agent.id, "Not yet, sorry.")
    await dispatch_outbox(job_ctx)
    [mail] = await mailbox.wait_for("support_reply")
    assert mail["To"] == "pat@example.net"
    assert "Not yet, sorry." in Mailbox.text(mail)
    assert "/support/" not in Mailbox.text(mail)  # no account, so no ticket page to link to
