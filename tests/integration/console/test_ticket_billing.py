"""Billing actions from a ticket's billing panel (app.support.ticket_billing): run at once by a role that may run
them, else requested by the support agent and approved or rejected by billing staff at /staff/billing/requests.

Each action is evidenced where it must leave a trace: the service's rows and events, PayPal's ledger (the
sandbox) where money moves, the ticket's internal note and the audit entry. Refusals come back in the panel.
The tests run at a frozen instant (``clock.frozen_at``, which the in-process app sees too), as the admin's
staff-action tests do, so dunning dates and trial ends are the same whenever they run.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from piccolo.apps.user.tables import BaseUser

from app import clock
from app.billing import service as invoices
from app.billing.lines import subscription_line
from app.billing.periods import Interval, first_period
from app.payments.paypal import PayPalGateway
from app.settings import Settings
from app.subscriptions.service import plan_terms
from app.support import service
from app.support.service import SupportDesk
from tables.accounts import Customer, StaffRole
from tables.audit import AuditLog
from tables.billing import CreditNote, Invoice
from tables.outbox import OutboxEvent
from tables.payments import Payment, Refund
from tables.subscriptions import Subscription, SubscriptionEvent
from tables.support import BillingActionRequest, BillingActionRequestEvent, TicketMessage
from tests import factories
from tests.integration.billing.conftest import Vaulted, vaulted  # noqa: F401 - fixture
from tests.integration.billing.test_staff_actions import (  # noqa: F401 - staff_gateway: the app's PayPal is the sandbox
    NOW,
    behind,
    behind_with_a_saved_method,
    staff_gateway,
)
from tests.integration.console.conftest import ConsoleSession, post_form
from tests.paying import Paying, paying_customer
from tests.paypal import SandboxControl
from tests.portal import csrf_token
from tests.smtp import Mailbox

REQUESTS = "/staff/billing/requests"


@dataclass(frozen=True, slots=True)
class PaidTicket:
    """Ada's ticket, Ada paying $19.00 a month with a PayPal account the sandbox captured."""

    paying: Paying
    ticket_id: int

    @property
    def payment(self) -> str:
        return str(self.paying.payment_id)


@pytest.fixture
async def paid(desk: SupportDesk, ada: Customer, gateway: PayPalGateway, sandbox: SandboxControl) -> PaidTicket:
    paying = await paying_customer(gateway, sandbox, ada.id, "ada.buyer@example.com")
    return PaidTicket(paying, await ticket_of(desk, ada))


async def ticket_of(desk: SupportDesk, customer: Customer) -> int:
    return await service.open_ticket(desk, customer, subject="About my bill", category="billing",
                                     body="Something is wrong with my bill.")  # fmt: skip


async def owing(desk: SupportDesk, settings: Settings) -> tuple[int, int]:
    """Owen's $29 renewal, declined once (open, retried tomorrow), and his ticket about it."""
    customer = await factories.customer(email="owes@example.com", name="Owen")
    _, invoice_id = await behind(settings, customer.id)
    return invoice_id, await ticket_of(desk, customer)


def page(ticket_id: int) -> str:
    return f"/staff/support/tickets/{ticket_id}"


async def act(http: httpx.AsyncClient, ticket_id: int, *, htmx: bool = True, **fields: Any) -> httpx.Response:
    """Post the ticket panel's billing form, as htmx sends it (or a browser without JavaScript)."""
    return await post_form(http, page(ticket_id), page(ticket_id) + "/billing", fields, htmx=htmx)


async def notes(ticket_id: int) -> list[tuple[str, str, str]]:
    """The ticket's internal notes: (author kind, staff username or "", text)."""
    by = TicketMessage.staff_author.username.as_alias("by")
    rows = await TicketMessage.select(TicketMessage.author_kind, by, TicketMessage.body).where(
        TicketMessage.ticket == ticket_id, TicketMessage.internal.eq(True)
    ).order_by(TicketMessage.id)  # fmt: skip
    return [(r["author_kind"], r["by"] or "", r["body"]) for r in rows]


async def audited(action: str) -> list[dict[str, Any]]:
    return list(
        await AuditLog.select(AuditLog.actor_label, AuditLog.target_type, AuditLog.target_id, AuditLog.after)
        .where(AuditLog.action == action)
        .order_by(AuditLog.id)
        .output(load_json=True)
    )


async def staff_id(username: str) -> int:
    row = await BaseUser.select(BaseUser.id).where(BaseUser.username == username).first()
    assert row is not None
    return int(row["id"])


async def test_a_refund_in_part_then_of_the_rest_moves_money_at_paypal_and_is_noted_and_audited(
    client: httpx.AsyncClient, console: ConsoleSession, paid: PaidTicket, sandbox: SandboxControl
) -> None:
    paying, ticket_id, payment = paid.paying, paid.ticket_id, paid.payment
    async with console("superuser", "sue") as sue:
        view = (await sue.get(page(ticket_id))).text
        assert f'data-payment="{payment}"' in view and "<summary>Refund…</summary>" in view
        part = await act(sue, ticket_id, kind="refund", target=payment, amount="4.00", reason="charged twice")
        assert part.status_code == 200
        assert part.text.lstrip().startswith('<div id="workspace"')
        assert "is succeeded; its credit note follows within seconds." in part.text
        assert f"Refunded $4.00 of payment #{payment}: charged twice" in part.text  # the note, in the thread
        rest = await act(sue, ticket_id, htmx=False, kind="refund", target=payment, reason="left in the first week")
        assert rest.status_code == 303 and rest.headers["location"] == page(ticket_id)
        assert "its credit note follows within seconds." in (await sue.get(page(ticket_id))).text  # the flash

    assert sorted(r["amount"] for r in await sandbox.new_refunds()) == ["15.00", "4.00"]
    row = await Payment.select(Payment.status, Payment.amount_refunded_minor).where(Payment.id == paying.payment_id)
    assert row == [{"status": "refunded", "amount_refunded_minor": 1900}]
    sue_actor = f"staff:{await staff_id('sue')}"
    refunds = await Refund.select(Refund.amount_minor, Refund.status, Refund.actor, Refund.reason).order_by(Refund.id)
    assert [tuple(r.values()) for r in refunds] == [
        (400, "succeeded", sue_actor, "charged twice"), (1500, "succeeded", sue_actor, "left in the first week")
    ]  # fmt: skip
    assert await notes(ticket_id) == [
        ("staff", "sue", f"Refunded $4.00 of payment #{payment}: charged twice"),
        ("staff", "sue", f"Refunded $15.00 of payment #{payment}: left in the first week"),
    ]
    entries = [(a["actor_label"], a["after"]) for a in await audited("billing.refund_requested")]
    assert [(who, after["ticket_id"], after["amount"], after["status"]) for who, after in entries] == [
        ("sue", ticket_id, "$4.00", "succeeded"), ("sue", ticket_id, "$15.00", "succeeded")
    ]  # fmt: skip


async def test_retry_a_payment_now_counts_a_decline_then_collects(
    client: httpx.AsyncClient, console: ConsoleSession, desk: SupportDesk, settings: Settings, vaulted: Vaulted,  # noqa: F811
    sandbox: SandboxControl,
) -> None:  # fmt: skip
    with clock.frozen_at(NOW):
        sub, invoice_id = await behind_with_a_saved_method(settings, vaulted)
        late = await Customer.objects().get(Customer.email == "late@example.com")
        assert late is not None
        ticket_id = await ticket_of(desk, late)
        number = (await Invoice.select(Invoice.number).where(Invoice.id == invoice_id).first() or {})["number"]
        await sandbox.arm("instrument_declined", payer_email="late@example.com")
        async with console("superuser", "sue") as sue:
            declined = await act(sue, ticket_id, kind="retry_payment", target=str(invoice_id), reason="new card")
            assert "It counts as a failed attempt; the next attempt is 2026-04-19 00:00 UTC." in declined.text
            assert "flash-warning" in declined.text  # it ran, and what it is for did not happen
            await sandbox.clear_faults()
            paid = await act(sue, ticket_id, kind="retry_payment", target=str(invoice_id), reason="topped up")
            assert f"Invoice #{invoice_id} is paid" in paid.text

    assert [c["amount"] for c in await sandbox.new_captures()] == ["29.00"]
    assert [p["status"] for p in await Payment.select(Payment.status).order_by(Payment.id)] == ["declined", "succeeded"]
    assert (await Subscription.objects().get(Subscription.id == sub.id)).status == "active"  # type: ignore[union-attr]
    [(_, _, declined_note), (_, _, paid_note)] = await notes(ticket_id)
    assert declined_note.startswith(f"Retried the payment of invoice {number}: the charge failed (")
    assert declined_note.endswith("; the next attempt is 2026-04-19 00:00 UTC: new card")
    assert paid_note.startswith(f"Retried the payment of invoice {number}: paid (payment #")
    assert paid_note.endswith(": topped up")
    entries = await audited("billing.payment_retried")
    assert [(a["after"]["status"], a["after"]["ticket_id"]) for a in entries] == [
        ("declined", ticket_id), ("succeeded", ticket_id)
    ]  # fmt: skip


async def test_support_resends_a_receipt_at_once(
    client: httpx.AsyncClient, console: ConsoleSession, desk: SupportDesk, ada: Customer, mailbox: Mailbox
) -> None:
    with clock.frozen_at(NOW):
        plan = await factories.plan(name="Plus", amount_minor=2900)
        period = first_period(NOW, Interval.of("month"))
        invoice_id = await invoices.create_draft(ada.id, "USD", [subscription_line(await plan_terms(plan.id), period)])
        await invoices.finalize(invoice_id, actor="system", at=NOW)
        await invoices.mark_paid(invoice_id, actor="system", at=NOW)
        ticket_id = await ticket_of(desk, ada)
        async with console("support", "sam") as sam:
            view = (await sam.get(page(ticket_id))).text
            assert ">Resend receipt</button>" in view  # support may: a button that runs it, no request
            assert "Request refund" not in view  # no payments: nothing to refund
            sent = await act(sam, ticket_id, kind="resend_receipt", target=str(invoice_id))
        assert "The receipt is on its way to ada@example.com." in sent.text
    [mail] = await mailbox.wait_for("billing_receipt")
    assert mail["To"] == "ada@example.com" and "$29.00" in Mailbox.text(mail)
    number = (await Invoice.select(Invoice.number).where(Invoice.id == invoice_id).first() or {})["number"]
    assert await notes(ticket_id) == [("staff", "sam", f"Resent the receipt of invoice {number} to ada@example.com")]
    [entry] = await audited("billing.receipt_resent")
    assert (entry["actor_label"], entry["target_id"], entry["after"]) == (
        "sam", str(invoice_id), {"to": "ada@example.com", "ticket_id": ticket_id}
    )  # fmt: skip
    assert not await BillingActionRequest.exists()


async def test_pause_resume_and_extend_a_trial_from_the_ticket(
    client: httpx.AsyncClient, console: ConsoleSession, desk: SupportDesk, ada: Customer, settings: Settings
) -> None:
    zone = ZoneInfo(settings.sla.timezone)
    with clock.frozen_at(NOW):
        month = first_period(NOW, Interval.of("month"))
        sub = await factories.subscription(customer=ada.id, current_period_start=month.start,
                                           current_period_end=month.end, billing_anchor=month.start)  # fmt: skip
        trial_end = datetime(2026, 4, 20, 15, 30, tzinfo=UTC)
        trial = await factories.subscription(customer=ada.id, status="trialing", trial_end=trial_end,
                                             current_period_start=NOW, current_period_end=trial_end,
                                             billing_anchor=trial_end)  # fmt: skip
        ticket_id = await ticket_of(desk, ada)
        async with console("superuser", "sue") as sue:
            paused = await act(sue, ticket_id, kind="pause", target=str(sub.id), reason="in hospital")
            assert f"Subscription #{sub.id} is paused" in paused.text
            resumed = await act(sue, ticket_id, kind="resume", target=str(sub.id), reason="back home")
            assert f"Subscription #{sub.id} is active again" in resumed.text
            extended = await act(sue, ticket_id, kind="extend_trial", target=str(trial.id), trial_end="2026-05-04",
                                 reason="sorry for the outage")  # fmt: skip
            assert extended.status_code == 200, extended.text
    sue_actor = f"staff:{await staff_id('sue')}"
    trail = await SubscriptionEvent.select(SubscriptionEvent.subscription, SubscriptionEvent.event,
                                           SubscriptionEvent.actor).order_by(SubscriptionEvent.id)  # fmt: skip
    assert [tuple(e.values()) for e in trail] == [(sub.id, "pause", sue_actor), (sub.id, "resume", sue_actor),
                                                  (trial.id, "trial_extended", sue_actor)]  # fmt: skip
    # The new end is the day chosen on the desk's calendar, at the hour the trial ended there.
    expected = datetime.combine(date(2026, 5, 4), trial_end.astimezone(zone).time(), tzinfo=zone).astimezone(UTC)
    row = await Subscription.select(Subscription.trial_end).where(Subscription.id == trial.id).first()
    assert row == {"trial_end": expected}
    events = await OutboxEvent.select(OutboxEvent.payload).where(
        OutboxEvent.event_type == "subscription.trial_extended").output(load_json=True)  # fmt: skip
    assert [e["payload"]["to"] for e in events] == [expected.isoformat()]
    texts = [body for _, _, body in await notes(ticket_id)]
    assert texts[0] == f"Paused subscription #{sub.id}: in hospital"
    assert texts[1].startswith(f"Resumed subscription #{sub.id}; its period now ends ") and texts[1].endswith("home")
    assert texts[2] == (
        f"Extended the trial of subscription #{trial.id} to {expected:%Y-%m-%d %H:%M} UTC: sorry for the outage"
    )
    assert [a["after"]["ticket_id"] for a in await audited("subscription.pause")] == [ticket_id]
    assert [a["after"]["ticket_id"] for a in await audited("subscription.resume")] == [ticket_id]
    [extension] = await audited("subscription.trial_extended")
    assert extension["after"]["reason"] == "sorry for the outage"


async def test_a_goodwill_credit_on_an_open_invoice(
    client: httpx.AsyncClient, console: ConsoleSession, desk: SupportDesk, settings: Settings
) -> None:
    with clock.frozen_at(NOW):
        invoice_id, ticket_id = await owing(desk, settings)
        async with console("superuser", "sue") as sue:
            view = (await sue.get(page(ticket_id))).text
            assert "<summary>Credit…</summary>" in view and "<summary>Retry payment now…</summary>" in view
            credited = await act(sue, ticket_id, kind="goodwill_credit", target=str(invoice_id), amount="5.00",
                                 reason="outage last week")  # fmt: skip
    assert "takes $5.00 off invoice" in credited.text and "$24.00 is still due" in credited.text
    [note] = await CreditNote.select(CreditNote.number, CreditNote.amount_minor, CreditNote.reason)
    assert (note["amount_minor"], note["reason"]) == (500, "outage last week")
    number = (await Invoice.select(Invoice.number).where(Invoice.id == invoice_id).first() or {})["number"]
    assert await notes(ticket_id) == [("staff", "sue", f"Credited $5.00 on invoice {number} (credit note "
                                       f"{note['number']}); $24.00 is still due: outage last week")]  # fmt: skip
    [entry] = await audited("billing.goodwill_credit")
    assert (entry["after"]["amount_minor"], entry["after"]["ticket_id"]) == (500, ticket_id)


async def test_support_requests_what_its_role_may_not_run_others_are_refused(
    client: httpx.AsyncClient, console: ConsoleSession, paid: PaidTicket, sandbox: SandboxControl
) -> None:
    ticket_id, payment = paid.ticket_id, paid.payment
    async with console("support", "sam") as sam:
        view = (await sam.get(page(ticket_id))).text
        assert "<summary>Request refund…</summary>" in view and "<summary>Request pause…</summary>" in view
        assert "<summary>Refund…</summary>" not in view
        requested = await act(sam, ticket_id, kind="refund", target=payment, amount="4.00", reason="charged twice")
        assert f"Requested: Refund $4.00 of payment #{payment}." in requested.text
        assert f"Refund $4.00 of payment #{payment} requested by sam" in requested.text  # the panel's list
        assert (await sam.get(REQUESTS)).status_code == 403  # the list is billing staff's
    assert not await Refund.exists() and await sandbox.new_refunds() == []
    [request] = await BillingActionRequest.select().output(load_json=True)
    assert (request["kind"], request["status"], request["reason"], request["ticket"]) == (
        "refund", "requested", "charged twice", ticket_id
    )  # fmt: skip
    assert (request["params"]["amount_minor"], request["params"]["currency"]) == (400, "USD")
    assert await notes(ticket_id) == [
        ("staff", "sam", f"Requested: Refund $4.00 of payment #{payment}: charged twice (for billing staff to approve)")
    ]
    [entry] = await audited("support.billing_action_requested")
    assert (entry["actor_label"], entry["target_type"], entry["target_id"]) == ("sam", "ticket", str(ticket_id))

    # Roles that do not work tickets post nothing there, whatever billing actions they may run.
    for role in ("content", "billing"):
        async with console(role) as other:
            fields = {"kind": "refund", "target": payment, "amount": "1.00", "reason": "x"}
            refused = await post_form(other, "/staff/", page(ticket_id) + "/billing", fields)
            assert refused.status_code == 403, role
    async with console("content") as content:
        assert (await content.get(REQUESTS)).status_code == 403
    assert await BillingActionRequest.count() == 1 and not await Refund.exists()


async def test_a_request_approved_runs_once_as_the_approver_even_when_two_approve_at_once(
    client: httpx.AsyncClient, console: ConsoleSession, paid: PaidTicket, sandbox: SandboxControl
) -> None:
    ticket_id, payment = paid.ticket_id, paid.payment
    async with console("support", "sam") as sam:
        await act(sam, ticket_id, kind="refund", target=payment, amount="4.00", reason="charged twice")
        [request] = await BillingActionRequest.select(BillingActionRequest.id)
        approve = f"{REQUESTS}/{request['id']}/approve"
        # Sam is moved to billing: his own request is still not his to approve.
        await StaffRole.update({StaffRole.role: "billing"}).where(StaffRole.user == await staff_id("sam"))
        listed = await sam.get(REQUESTS)
        assert listed.status_code == 200 and "Your own request: another billing staff member decides it." in listed.text
        own = await post_form(sam, REQUESTS, approve, htmx=True)
        assert "You asked for this yourself" in own.text
    assert (await BillingActionRequest.select(BillingActionRequest.status)) == [{"status": "requested"}]

    async with console("billing", "bob") as bob, console("billing", "bea") as bea:
        listed = (await bob.get(REQUESTS)).text
        assert f"Refund $4.00 of payment #{payment}" in listed and "charged twice" in listed
        tokens = [csrf_token((await http.get(REQUESTS)).text) for http in (bob, bea)]
        answers = await asyncio.gather(*(
            http.post(approve, headers={"HX-Request": "true", "x-csrftoken": token})
            for http, token in zip((bob, bea), tokens, strict=True)
        ))  # fmt: skip
        again = await post_form(bob, REQUESTS, approve, htmx=True)

    assert [a.status_code for a in answers] == [200, 200]
    [winner] = await BillingActionRequest.select(BillingActionRequest.status, BillingActionRequest.decided_by,
                                                 BillingActionRequest.result)  # fmt: skip
    approver = "bob" if winner["decided_by"] == await staff_id("bob") else "bea"
    assert (winner["status"], winner["result"]) == ("approved", f"Refunded $4.00 of payment #{payment}")
    ran = [a for a in answers if "its credit note follows within seconds." in a.text]
    lost = [a for a in answers if f"was approved by {approver} already; nothing was done again." in a.text]
    assert len(ran) == 1 and len(lost) == 1
    assert "was approved by" in again.text
    assert [r["amount"] for r in await sandbox.new_refunds()] == ["4.00"]
    [refund] = await Refund.select(Refund.amount_minor, Refund.actor)
    assert refund == {"amount_minor": 400, "actor": f"staff:{await staff_id(approver)}"}  # run as the approver
    approved = f"Refunded $4.00 of payment #{payment}: charged twice (requested by sam, approved by {approver})"
    assert (await notes(ticket_id))[1:] == [("system", "", approved)]
    assert [e["event"] for e in await BillingActionRequestEvent.select(BillingActionRequestEvent.event)] == ["approve"]
    assert [a["actor_label"] for a in await audited("billing.request_approved")] == [approver]
    [entry] = await audited("billing.refund_requested")
    assert (entry["after"]["request_id"], entry["after"]["ticket_id"]) == (request["id"], ticket_id)

    async with console("support", "sid") as sid:  # the agent on the ticket sees the outcome
        view = (await sid.get(page(ticket_id))).text
    assert f"approved by {approver}: Refunded $4.00 of payment #{payment}" in view


async def test_a_request_rejected_with_a_reason_never_runs(
    client: httpx.AsyncClient, console: ConsoleSession, desk: SupportDesk, settings: Settings
) -> None:
    with clock.frozen_at(NOW):
        invoice_id, ticket_id = await owing(desk, settings)
        async with console("support", "sam") as sam:
            await act(sam, ticket_id, kind="goodwill_credit", target=str(invoice_id), reason="they asked nicely")
        [request] = await BillingActionRequest.select(BillingActionRequest.id)
        reject = f"{REQUESTS}/{request['id']}/reject"
        async with console("billing", "bob") as bob:
            blank = await post_form(bob, REQUESTS, reject, {"reason": " "}, htmx=True)
            assert "Say why it is rejected" in blank.text
            rejected = await post_form(bob, REQUESTS, reject, {"reason": "not our outage"})
            assert rejected.status_code == 303 and rejected.headers["location"] == REQUESTS
            assert "Rejected: Credit all" in (await bob.get(REQUESTS)).text
            later = await post_form(bob, REQUESTS, f"{REQUESTS}/{request['id']}/approve")
            assert later.status_code == 409 and "was rejected by bob already" in later.text
    assert not await CreditNote.exists()
    row = await BillingActionRequest.select(BillingActionRequest.status, BillingActionRequest.result).first()
    assert row == {"status": "rejected", "result": "not our outage"}
    number = (await Invoice.select(Invoice.number).where(Invoice.id == invoice_id).first() or {})["number"]
    assert (await notes(ticket_id))[1:] == [
        ("system", "", f"Credit all invoice {number} still owes (requested by sam) was rejected by bob: not our outage")
    ]
    assert [a["after"]["reason"] for a in await audited("billing.request_rejected")] == ["not our outage"]


async def test_refusals_are_shown_in_the_panel_in_plain_words(
    client: httpx.AsyncClient, console: ConsoleSession, paid: PaidTicket
) -> None:
    paying, ticket_id, payment = paid.paying, paid.ticket_id, paid.payment
    stranger = await factories.invoice(status="paid", total_minor=500)
    cases = [
        ({"kind": "refund", "target": payment, "amount": "30.00", "reason": "x"},
         f"A refund of payment #{payment} can be at most $19.00."),
        ({"kind": "refund", "target": payment, "amount": "four", "reason": "x"}, "Enter the amount like 4.00, in USD."),
        ({"kind": "refund", "target": payment, "amount": "inf", "reason": "x"}, "Enter the amount like 4.00, in USD."),
        ({"kind": "refund", "target": payment, "amount": "1.00"}, "Say why"),
        ({"kind": "resend_receipt", "target": str(stranger.id)}, "is not this ticket&#39;s customer&#39;s."),
        ({"kind": "resend_receipt", "target": "999999"}, "There is no invoice #999999."),
        ({"kind": "retry_payment", "target": str(paying.invoice_id), "reason": "x"},
         "is paid: there is nothing to collect."),
        ({"kind": "pause", "target": str(paying.subscription.id), "reason": "x"}, None),
        ({"kind": "pause", "target": str(paying.subscription.id), "reason": "again"},
         "A subscription that is paused cannot pause."),
        ({"kind": "launder", "target": payment, "reason": "x"}, "Choose a billing action."),
        ({"kind": "refund", "target": "9" * 30, "reason": "x"}, "Choose what to act on."),
    ]  # fmt: skip
    async with console("superuser", "sue") as sue:
        for fields, refusal in cases:
            answer = await act(sue, ticket_id, **fields)
            assert answer.status_code == 200, (fields, answer.text)
            if refusal is not None:
                panel = answer.text[answer.text.index('id="billing"') :]
                assert 'class="form-error" role="alert"' in panel and refusal in panel, (fields, refusal)
        without_js = await act(sue, ticket_id, htmx=False, kind="refund", target=payment, amount="30.00", reason="x")
        assert without_js.status_code == 422 and "can be at most $19.00." in without_js.text
        assert 'value="30.00"' in without_js.text  # what was typed is kept
    assert not await Refund.exists()
    assert [body for _, _, body in await notes(ticket_id)] == [f"Paused subscription #{paying.subscription.id}: x"]
    money_moved = ["billing.refund_requested", "billing.payment_retried", "billing.receipt_resent"]
    assert not await AuditLog.exists().where(AuditLog.action.is_in(money_moved))


async def test_an_approved_request_that_is_refused_when_it_runs_is_failed_and_noted(
    client: httpx.AsyncClient, console: ConsoleSession, paid: PaidTicket, sandbox: SandboxControl
) -> None:
    ticket_id, payment = paid.ticket_id, paid.payment
    async with console("support", "sam") as sam:
        await act(sam, ticket_id, kind="refund", target=payment, amount="4.00", reason="charged twice")
    async with console("superuser", "sue") as sue:  # meanwhile someone refunds it all
        await act(sue, ticket_id, kind="refund", target=payment, reason="cancelled")
    [request] = await BillingActionRequest.select(BillingActionRequest.id)
    async with console("billing", "bob") as bob:
        failed = await post_form(bob, REQUESTS, f"{REQUESTS}/{request['id']}/approve", htmx=True)
    refused = f"Refund $4.00 of payment #{payment} was refused: Payment #{payment} is refunded: nothing to refund."
    assert refused in failed.text
    row = await BillingActionRequest.select(BillingActionRequest.status, BillingActionRequest.result).first()
    assert row is not None and row["status"] == "failed" and "is refunded" in row["result"]
    moves = await BillingActionRequestEvent.select(BillingActionRequestEvent.event).order_by(
        BillingActionRequestEvent.id
    )
    assert [e["event"] for e in moves] == ["approve", "fail"]
    assert (await notes(ticket_id))[-1][2].startswith(
        f"Refund $4.00 of payment #{payment} (requested by sam, approved by bob) was refused: "
    )
    assert [r["amount"] for r in await sandbox.new_refunds()] == ["19.00"]
    assert len(await audited("billing.request_failed")) == 1
