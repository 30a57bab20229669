"""Working a ticket in the console: public reply vs internal note, assignment, priority and status, canned
replies, files, and the customer's billing beside the thread. Each change is evidenced where it must leave a
trace: the ticket's events, the outbox, the audit log, the mail, and what the customer sees."""

from __future__ import annotations

from typing import Any

import httpx

from app import clock
from app.accounts.staff import create_staff
from app.billing.periods import Interval, boundary
from app.support import service
from app.support.attachments import Upload
from app.support.canned import PLACEHOLDERS, placeholder_values
from app.support.service import SupportDesk
from tables.accounts import Customer
from tables.audit import AuditLog
from tables.outbox import OutboxEvent
from tables.payments import Payment, Refund
from tables.support import CannedReply, Ticket, TicketAttachment, TicketEvent, TicketMessage
from tasks.outbox import dispatch_outbox
from tests import factories
from tests.integration.console.conftest import ConsoleSession, post_form
from tests.portal import PASSWORD
from tests.smtp import Mailbox
from tests.support import PNG


async def open_ticket(desk: SupportDesk, customer: Customer, **extra: Any) -> int:
    return await service.open_ticket(desk, customer, subject="Receipt missing", category="billing",
                                     body="I paid but got no receipt.", **extra)  # fmt: skip


async def events(ticket_id: int) -> list[tuple[str, str, str]]:
    rows = await TicketEvent.select(TicketEvent.event, TicketEvent.to_status, TicketEvent.reason).where(
        TicketEvent.ticket == ticket_id
    ).order_by(TicketEvent.id)  # fmt: skip
    return [(r["event"], r["to_status"], r["reason"]) for r in rows]


async def audit(action: str) -> list[dict[str, Any]]:
    return await AuditLog.select(AuditLog.actor_label, AuditLog.target_id, AuditLog.after, AuditLog.ip).where(
        AuditLog.action == action
    ).order_by(AuditLog.id).output(load_json=True)  # fmt: skip


async def test_a_public_reply_reaches_the_customer_and_an_internal_note_never_does(
    client: httpx.AsyncClient, console: ConsoleSession, desk: SupportDesk, ada: Customer, job_ctx: dict[str, Any],
    mailbox: Mailbox,
) -> None:  # fmt: skip
    ticket_id = await open_ticket(desk, ada)
    page = f"/staff/support/tickets/{ticket_id}"
    async with console("support", "sam") as sam:
        replied = await post_form(sam, page, f"{page}/messages", {"body": "Sent again: check your spam folder.",
                                  "kind": "reply", "then": "pending"}, htmx=True)  # fmt: skip
        assert replied.status_code == 200
        assert replied.text.lstrip().startswith('<div id="workspace"')  # the workspace, swapped in place
        assert "Reply sent to the customer; the ticket is pending." in replied.text
        noted = await post_form(sam, page, f"{page}/messages", {"body": "Their PayPal bounced our mail before.",
                                "kind": "note"})  # fmt: skip
        assert noted.status_code == 303 and noted.headers["location"] == page
        staff_view = (await sam.get(page)).text
        assert "Internal note added." in staff_view  # the flash after the redirect
        assert staff_view.count('class="message from-staff internal"') == 1
        assert "Their PayPal bounced our mail before." in staff_view
        empty = await post_form(sam, page, f"{page}/messages", {"body": "  ", "kind": "reply"}, htmx=True)
        assert empty.status_code == 200 and "Write your message." in empty.text

    by = TicketMessage.staff_author.username.as_alias("by")
    messages = await TicketMessage.select(TicketMessage.body, TicketMessage.internal, by).order_by(TicketMessage.id)
    assert [(m["body"], m["internal"], m["by"]) for m in messages][1:] == [
        ("Sent again: check your spam folder.", False, "sam"),
        ("Their PayPal bounced our mail before.", True, "sam"),
    ]
    ticket = await Ticket.objects().get(Ticket.id == ticket_id)
    assert ticket is not None and ticket.status == "pending" and ticket.first_response_at is not None
    assert ("await_customer", "pending", "staff replied") in await events(ticket_id)
    assert [a["after"]["then"] for a in await audit("support.replied")] == ["pending"]
    [note] = await audit("support.note_added")
    assert note["actor_label"] == "sam" and note["target_id"] == str(ticket_id) and note["ip"].startswith("10.9.")
    assert await OutboxEvent.count().where(OutboxEvent.event_type == "ticket.staff_replied") == 1

    await dispatch_outbox(job_ctx)
    [mail] = await mailbox.wait_for("support_reply")
    assert "check your spam folder" in Mailbox.text(mail)
    assert "bounced" not in Mailbox.text(mail) and "bounced" not in Mailbox.html(mail)
    customer_view = (await client.get(f"/support/{ticket_id}")).text
    assert "Sent again: check your spam folder." in customer_view
    assert "bounced" not in customer_view


async def test_assign_prioritise_and_move_through_the_ticket_states(
    client: httpx.AsyncClient, console: ConsoleSession, desk: SupportDesk, ada: Customer
) -> None:
    ticket_id = await open_ticket(desk, ada)
    page = f"/staff/support/tickets/{ticket_id}"
    kim = await create_staff("kim", "kim@example.com", PASSWORD, "support")
    bob = await create_staff("bob", "bob@example.com", PASSWORD, "billing")
    async with console("support", "sam") as sam:
        assert (await post_form(sam, page, f"{page}/assign", {"assignee": "me"})).status_code == 303
        assert (await post_form(sam, page, f"{page}/assign", {"assignee": str(kim.id)}, htmx=True)).status_code == 200
        refused = await post_form(sam, page, f"{page}/assign", {"assignee": str(bob.id)}, htmx=True)
        assert "Tickets are assigned to support staff only." in refused.text
        assert (await post_form(sam, page, f"{page}/assign", {"assignee": ""})).status_code == 303
        assert (await post_form(sam, page, f"{page}/priority", {"priority": "urgent"})).status_code == 303
        same = await post_form(sam, page, f"{page}/priority", {"priority": "urgent"}, htmx=True)
        assert "no change" in same.text
        opened = await post_form(sam, page, f"{page}/status", {"event": "open"}, htmx=True)
        # The moves offered are the state table's from "open".
        assert 'name="event" value="await_customer"' in opened.text and 'name="event" value="open"' not in opened.text
        illegal = await post_form(sam, page, f"{page}/status", {"event": "close"})
        assert illegal.status_code == 409
        assert "A ticket that is open cannot close." in illegal.text
        assert (await post_form(sam, page, f"{page}/status", {"event": "solve"})).status_code == 303
        assert (await post_form(sam, page, f"{page}/status", {"event": "reopen"})).status_code == 422  # customers'
        missing = await post_form(sam, "/staff/support", "/staff/support/tickets/999/status", {"event": "open"})
        assert missing.status_code == 404

    assert await events(ticket_id) == [
        ("create", "new", "by web"),
        ("assign", "new", "to sam"),
        ("assign", "new", "to kim"),
        ("assign", "new", "to nobody"),
        ("set_priority", "new", "normal -> urgent"),
        ("open", "open", "by staff"),
        ("solve", "solved", "by staff"),
    ]
    changes = [a["after"]["changes"] for a in await audit("support.ticket_updated")]
    assert changes == ["assigned to sam", "assigned to kim", "assigned to nobody", "priority urgent", "open", "solved"]
    moved = await OutboxEvent.select(OutboxEvent.event_type).where(OutboxEvent.aggregate_id == str(ticket_id))
    assert {"ticket.open", "ticket.solve"} <= {m["event_type"] for m in moved}


async def test_canned_replies_fill_placeholders_as_plain_text(
    client: httpx.AsyncClient, console: ConsoleSession, desk: SupportDesk, ada: Customer
) -> None:
    # A name that looks like template code stays text: it is a value, never evaluated or expanded again.
    await Customer.update({Customer.name: "{{agent_name}} {% for x in range(3) %}<b>{{ 7*7 }}</b>{% endfor %}"}).where(
        Customer.id == ada.id
    )  # fmt: skip
    plan = await factories.plan(name="Library Plus")
    await factories.subscription(customer=ada.id, plan=plan.id)
    ticket_id = await open_ticket(desk, ada)
    body = ("Hi {{customer_name}}, your {{ plan }} receipt is on its way ({{customer_email}}, #{{ticket_id}}). "
            "{{nonsense}} Regards, {{agent_name}}, {{site_name}}")  # fmt: skip
    canned = CannedReply(title="Receipt resent", body=body)
    await canned.save()
    await CannedReply(title="Old answer", body="Retired.", active=False).save()
    page = f"/staff/support/tickets/{ticket_id}"
    async with console("support", "sam") as sam:
        workspace = (await sam.get(page)).text
        assert "Receipt resent" in workspace and "Old answer" not in workspace
        filled = await sam.get(f"{page}/canned/{canned.id}", headers={"HX-Request": "true"})
        assert filled.status_code == 200
        assert filled.text.startswith('<textarea id="composer-body"')
        expected = (
            "Hi {{agent_name}} {% for x in range(3) %}&lt;b&gt;{{ 7*7 }}&lt;/b&gt;{% endfor %}, your Library Plus "
            f"receipt is on its way (ada@example.com, #{ticket_id}). {{{{nonsense}}}} Regards, sam, Recurra"
        )
        assert expected in filled.text
        assert expected in (await sam.get(f"{page}?canned={canned.id}")).text  # without htmx: the page, prefilled
        assert (await sam.get(f"{page}/canned/{canned.id + 1}")).status_code == 404  # the retired one
    values = await placeholder_values(ticket_id, agent_user_id=1, site_name="Recurra")
    assert set(values) == set(PLACEHOLDERS)  # every placeholder the admin's help text names is filled


async def test_staff_download_the_customer_s_files_from_the_thread(
    client: httpx.AsyncClient, console: ConsoleSession, desk: SupportDesk, ada: Customer
) -> None:
    ticket_id = await open_ticket(desk, ada, uploads=[Upload("screen.png", PNG)])
    attachment = await TicketAttachment.objects().first()
    assert attachment is not None
    async with console("support", "sam") as sam:
        page = (await sam.get(f"/staff/support/tickets/{ticket_id}")).text
        assert f'href="/support/files/{attachment.id}" download>screen.png' in page
        file = await sam.get(f"/support/files/{attachment.id}")
        assert file.status_code == 200 and file.content == PNG
        assert file.headers["content-disposition"].startswith("attachment")
    async with console("billing", "bob") as bob:
        assert (await bob.get(f"/support/files/{attachment.id}")).status_code == 404


async def test_the_customer_s_billing_sits_beside_the_thread(
    client: httpx.AsyncClient, console: ConsoleSession, desk: SupportDesk, ada: Customer
) -> None:
    plan = await factories.plan(name="Library Plus", amount_minor=1900, currency="EUR")
    start = clock.now()
    month_end = boundary(start, Interval.of("month"), 1)
    subscription = await factories.subscription(customer=ada.id, plan=plan.id, status="past_due",
                                                current_period_start=start, current_period_end=month_end)  # fmt: skip
    paid = await factories.paid_period(subscription, at=start)
    retry_at = boundary(start, Interval.of("day"), 3)
    overdue = await factories.invoice(customer=ada.id, subscription=subscription.id, status="open", number="INV-T-2",
                                      total_minor=1900, currency="EUR", attempt_count=2, finalized_at=start,
                                      next_payment_attempt_at=retry_at)  # fmt: skip
    succeeded = Payment(invoice=paid, customer=ada.id, amount_minor=1900, currency="EUR", status="succeeded",
                        idempotency_key="k-1")  # fmt: skip
    await succeeded.save()
    await Payment(invoice=overdue.id, customer=ada.id, amount_minor=1900, currency="EUR", status="declined",
                  idempotency_key="k-2", failure_code="INSTRUMENT_DECLINED",
                  failure_message="The instrument presented was declined.").save()  # fmt: skip
    await Refund(payment=succeeded.id, amount_minor=500, currency="EUR", status="pending", idempotency_key="r-1",
                 reason="double charge", actor="staff:1").save()  # fmt: skip
    ticket_id = await open_ticket(desk, ada)
    stranger = await factories.ticket(customer=None, requester_email="who@example.net", verified=False)

    async with console("support", "sam") as sam:
        page = (await sam.get(f"/staff/support/tickets/{ticket_id}")).text
        billing = page[page.index('id="billing"') :]
        assert "Library Plus" in billing and "status-past_due" in billing
        assert "€19.00" in billing
        assert "INV-T-2: €19.00 due, 2 attempts failed;" in billing
        assert f"next retry {retry_at.strftime('%-d %b %Y')} (2 left)" in billing
        assert "INSTRUMENT_DECLINED The instrument presented was declined." in billing  # PayPal's words: staff only
        assert "€5.00 of payment" in billing and "double charge" in billing
        assert "<summary>Request refund…</summary>" in billing  # support requests what billing staff run
        assert "No subscriptions." not in billing
        unverified = (await sam.get(f"/staff/support/tickets/{stranger.id}")).text
        assert 'id="billing"' not in unverified
        assert "who@example.net" in unverified and "unverified sender" in unverified
