"""/dev/mail lets a demo user answer a support mail as the customer would: the answer goes to the desk's
e-mail in and lands in the ticket's thread."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from piccolo.apps.user.tables import BaseUser

from app import clock
from app.mail import OutboxMailer, build_message
from app.main import create_app
from app.settings import Settings
from app.support import mails, service
from app.support.service import SupportDesk
from tables.support import Ticket, TicketMessage
from tests import factories
from tests.integration.conftest import asgi_client
from tests.portal import csrf_token


async def test_a_demo_user_answers_a_support_mail_from_dev_mail(
    settings: Settings, desk: SupportDesk, agent: BaseUser, tmp_path: Path
) -> None:
    settings = replace(settings, mail=replace(settings.mail, smtp_url=None, outbox_dir=tmp_path))
    grace = await factories.customer(email="grace@example.com", email_verified_at=clock.now())
    ticket_id = await service.open_ticket(desk, grace, subject="Offline?", category="library", body="Can I?")
    message_id = await service.staff_reply(ticket_id, agent.id, "Yes: use Download on the item page.")
    mail = await mails.reply_mail(settings, message_id)
    assert mail is not None
    await OutboxMailer(tmp_path).send(build_message(mail, settings.mail.from_address))
    [stored] = list(tmp_path.glob("*.eml"))

    async with asgi_client(create_app(settings)) as client:
        page = await client.get(f"/dev/mail/{stored.name}")
        assert "Reply as grace@example.com" in page.text
        form = {"_csrf_token": csrf_token(page.text), "body": "Found it, thank you!"}
        sent = await client.post(f"/dev/mail/{stored.name}/reply", data=form)
        assert sent.status_code == 303
        shown = await client.get(sent.headers["location"])
        assert f"Your reply was added to request #{ticket_id}." in shown.text

    thread = await TicketMessage.select(TicketMessage.body, TicketMessage.channel).order_by(TicketMessage.id)
    assert thread[-1] == {"body": "Found it, thank you!", "channel": "email"}  # the quoted mail stripped
    assert (await Ticket.select(Ticket.status).first()) == {"status": "open"}
