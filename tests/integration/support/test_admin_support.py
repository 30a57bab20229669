"""Until the staff console exists, support staff answer and move tickets through the admin's forms, which call
the support service (mail, events, outbox) and are audited; other roles may not."""

from __future__ import annotations

from typing import Any

import httpx
from litestar import Litestar

from app.support import service
from app.support.service import SupportDesk
from tables.accounts import Customer
from tables.audit import AuditLog
from tables.outbox import OutboxEvent
from tables.support import Ticket, TicketMessage
from tasks.outbox import dispatch_outbox
from tests.integration.staff import staff_session
from tests.smtp import Mailbox

FORMS = "/admin/api/forms/"


async def test_support_staff_reply_from_the_admin_and_the_customer_is_mailed(
    app: Litestar, client: httpx.AsyncClient, desk: SupportDesk, ada: Customer, job_ctx: dict[str, Any],
    mailbox: Mailbox,
) -> None:  # fmt: skip
    ticket_id = await service.open_ticket(desk, ada, subject="Receipt", category="billing", body="Resend it?")
    reply = {"ticket_id": ticket_id, "message": "Sent again just now.", "internal": False, "then": "solved"}
    async with staff_session(app, "billing") as billing:
        assert (await billing.post(FORMS + "reply-to-ticket/", json=reply)).status_code == 403
    async with staff_session(app, "support", "sam") as support:
        answered = await support.post(FORMS + "reply-to-ticket/", json=reply)
        assert answered.status_code == 200, answered.text
        assert "the customer is e-mailed" in answered.text
        noted = await support.post(FORMS + "reply-to-ticket/", json={**reply, "message": "Done via Stripe?",
                                                                      "internal": True})  # fmt: skip
        assert noted.status_code == 200, noted.text
        closed_ticket = await support.post(FORMS + "reply-to-ticket/", json={**reply, "ticket_id": 999})
        assert closed_ticket.status_code != 200 and "There is no ticket #999" in closed_ticket.text

    assert (await Ticket.select(Ticket.status).first()) == {"status": "solved"}
    bodies = await TicketMessage.select(TicketMessage.body, TicketMessage.internal).order_by(TicketMessage.id)
    assert [(m["body"], m["internal"]) for m in bodies][1:] == [("Sent again just now.", False),
                                                               ("Done via Stripe?", True)]  # fmt: skip
    audit = await AuditLog.select(AuditLog.action, AuditLog.actor_label, AuditLog.target_id).where(
        AuditLog.action.like("support.%")
    ).order_by(AuditLog.id)  # fmt: skip
    assert audit == [
        {"action": "support.replied", "actor_label": "sam", "target_id": str(ticket_id)},
        {"action": "support.note_added", "actor_label": "sam", "target_id": str(ticket_id)},
    ]
    assert await OutboxEvent.count().where(OutboxEvent.event_type == "ticket.staff_replied") == 1
    await dispatch_outbox(job_ctx)
    [mail] = await mailbox.wait_for("support_reply")
    assert "Sent again just now." in Mailbox.text(mail)


async def test_support_staff_assign_prioritise_and_move_tickets_from_the_admin(
    app: Litestar, client: httpx.AsyncClient, desk: SupportDesk, ada: Customer
) -> None:
    ticket_id = await service.open_ticket(desk, ada, subject="Video", category="library", body="It stutters.")
    async with staff_session(app, "support", "sam") as support:
        done = await support.post(FORMS + "update-ticket/", json={"ticket_id": ticket_id, "assign_to": "sam",
                                                                  "priority": "high", "status": "open"})  # fmt: skip
        assert done.status_code == 200, done.text
        assert "assigned to sam, priority high, open" in done.text
        refused = await support.post(FORMS + "update-ticket/", json={"ticket_id": ticket_id, "status": "closed"})
        assert refused.status_code != 200 and "cannot close" in refused.text
        nobody = await support.post(FORMS + "update-ticket/", json={"ticket_id": ticket_id, "assign_to": "ghost"})
        assert nobody.status_code != 200 and "'ghost' is not a support staff member" in nobody.text
    async with staff_session(app, "content") as content:
        assert (await content.post(FORMS + "update-ticket/", json={"ticket_id": ticket_id})).status_code == 403
    row = await Ticket.select(Ticket.status, Ticket.priority, Ticket.assignee.username.as_alias("assignee")).first()
    assert row == {"status": "open", "priority": "high", "assignee": "sam"}
    assert await AuditLog.count().where(AuditLog.action == "support.ticket_updated") == 1
