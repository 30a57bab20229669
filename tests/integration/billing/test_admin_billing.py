"""Billing in the admin: finalized invoices and their lines refuse every edit (the reason shown), drafts
stay editable; the billing staff actions (test clocks, refunds) work through the forms, role-checked."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import asyncpg
import httpx
import pytest
from litestar import Litestar
from piccolo.apps.user.tables import BaseUser

from app import admin_billing, clock
from app.billing import service as invoices
from app.billing.errors import NotATestCustomer
from app.billing.lines import LineDraft
from app.billing.periods import Interval, boundary
from app.billing.testclocks import attach_test_clock, create_test_clock
from app.payments.paypal import PayPalGateway
from app.settings import Settings
from tables.accounts import Customer
from tables.audit import AuditLog
from tables.billing import BillingNotice, Invoice, InvoiceLine, NumberSequence
from tables.clocks import TestClock
from tables.outbox import OutboxEvent
from tables.payments import Payment
from tables.subscriptions import Subscription, SubscriptionEvent
from tasks.outbox import dispatch_outbox
from tests import factories
from tests.integration.billing.conftest import Vaulted
from tests.integration.staff import staff_session, table
from tests.paypal import SandboxControl
from tests.smtp import Mailbox

FORMS = "/admin/api/forms/"


async def a_draft_with_a_line() -> tuple[int, int]:
    customer = await factories.customer()
    line = LineDraft(kind=InvoiceLine.Kind.adjustment, description="Setup", quantity=1, unit_amount_minor=900,
                     amount_minor=900, currency="USD")  # fmt: skip
    invoice_id = await invoices.create_draft(customer.id, "USD", [line])
    [row] = await InvoiceLine.select(InvoiceLine.id).where(InvoiceLine.invoice == invoice_id)
    return invoice_id, row["id"]


async def test_finalized_invoices_and_lines_refuse_edits_drafts_do_not(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    draft_id, draft_line = await a_draft_with_a_line()
    final_id, final_line = await a_draft_with_a_line()
    await invoices.finalize(final_id, actor="test")
    async with staff_session(app, "billing") as staff:
        # As the admin UI saves a row: every field sent, one changed.
        row = (await staff.get(table("invoice_line", draft_line))).json()
        saved = await staff.patch(table("invoice_line", draft_line), json={**row, "description": "Setup fee"})
        assert saved.status_code == 200, saved.text
        # A draft's line never moves onto another invoice (a finalized one would change after its number).
        moved = await staff.patch(table("invoice_line", draft_line), json={"invoice": final_id})
        assert moved.status_code == 403
        assert "cannot be changed here: invoice" in moved.text
        # Invoice rows themselves are read-only, drafts included: nothing on them may number, total or pay them.
        for response in [
            await staff.patch(table("invoice", draft_id), json={"currency": "EUR"}),
            await staff.patch(table("invoice", final_id), json={"total_minor": 1}),
            await staff.delete(table("invoice", final_id)),
        ]:
            assert response.status_code == 403, response.text

        refused = [
            await staff.patch(table("invoice_line", final_line), json={"amount_minor": 1}),
            await staff.delete(table("invoice_line", final_line)),
        ]
        blank = (await staff.get(table("invoice_line") + "new/")).json()
        line = {**blank, "invoice": final_id, "description": "x", "unit_amount_minor": 5, "amount_minor": 5}
        refused.append(await staff.post(table("invoice_line"), json=line))
    for response in refused:
        assert response.status_code == 409, response.text
        assert "finalized; correct it with a credit note" in response.text
    final = await Invoice.select(Invoice.total_minor, Invoice.status).where(Invoice.id == final_id).first()
    assert final == {"total_minor": 900, "status": "open"}
    assert await InvoiceLine.count().where(InvoiceLine.invoice == final_id) == 1
    assert (await Invoice.select(Invoice.currency).where(Invoice.id == draft_id).first()) == {"currency": "USD"}
    line_row = await InvoiceLine.select(InvoiceLine.invoice, InvoiceLine.description).where(
        InvoiceLine.id == draft_line
    ).first()  # fmt: skip
    assert line_row == {"invoice": draft_id, "description": "Setup fee"}
    assert not await AuditLog.exists().where(AuditLog.target_id == str(final_id), AuditLog.target_type == "invoice")


async def test_staff_create_a_test_clock_a_test_customer_on_it_and_advance_it(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    start = datetime(2026, 5, 1, 12, tzinfo=UTC)
    async with staff_session(app, "billing") as staff:
        created = await staff.post(
            FORMS + "create-test-clock/", json={"name": "demo", "frozen_time": start.isoformat()}
        )
        assert created.status_code == 200, created.text
        [clock] = await TestClock.select(TestClock.id)
        made = await staff.post(
            FORMS + "create-test-customer-on-a-clock/",
            json={"test_clock_id": clock["id"], "email": "Tess+1@Example.com", "name": "Tess"},
        )
        assert made.status_code == 200, made.text
        customer = await Customer.select(Customer.id, Customer.email, Customer.is_test, Customer.test_clock).first()
        assert customer is not None
        assert customer["email"] == "tess+1@example.com"
        assert (customer["is_test"], customer["test_clock"]) == (True, clock["id"])
        taken = await staff.post(
            FORMS + "create-test-customer-on-a-clock/",
            json={"test_clock_id": clock["id"], "email": "tess+1@example.com", "name": "Tess again"},
        )
        assert taken.status_code != 200
        assert "exists already" in taken.text
        anchor = start + timedelta(days=2)
        sub = await factories.subscription(customer=customer["id"], current_period_end=anchor, billing_anchor=anchor,
                                           current_period_start=boundary(anchor, Interval.of("month"), -1))  # fmt: skip
        advanced = await staff.post(
            FORMS + "advance-a-test-clock/",
            json={"test_clock_id": clock["id"], "to": (start + timedelta(days=3)).isoformat()},
        )
        assert advanced.status_code == 200, advanced.text
        assert "1 renewed" in advanced.text
        backwards = await staff.post(FORMS + "advance-a-test-clock/", json={"test_clock_id": clock["id"],
                                                                            "to": start.isoformat()})  # fmt: skip
        assert backwards.status_code != 200
        assert "only moves on" in backwards.text
    # No saved method: the renewal's first attempt failed, the subscription is past due, dunning has begun.
    renewed = await Subscription.select(Subscription.status).where(Subscription.id == sub.id).first()
    assert renewed == {"status": "past_due"}
    [number] = await Invoice.select(Invoice.number).where(Invoice.subscription == sub.id).output(as_list=True)
    assert number == "TEST-INV-2026-000001"
    assert not await NumberSequence.exists().where(NumberSequence.series == "INV")  # the live series is untouched
    audited = await AuditLog.select(AuditLog.action).where(AuditLog.action.like("billing.test_%")).output(as_list=True)
    assert sorted(audited) == ["billing.test_clock_advanced", "billing.test_clock_created",
                               "billing.test_customer_created"]  # fmt: skip


async def test_a_real_customer_is_never_put_on_a_test_clock() -> None:
    test_clock = await create_test_clock("no real customers", datetime(2026, 5, 1, tzinfo=UTC))
    real = await factories.customer()
    with pytest.raises(NotATestCustomer):
        await attach_test_clock(real.id, test_clock.id)
    # Nor behind the service's back: the database refuses a real customer on a clock and a flag turned on later.
    for change in ({Customer.test_clock: test_clock.id}, {Customer.is_test: True},
                   {Customer.is_test: True, Customer.test_clock: test_clock.id}):  # fmt: skip
        with pytest.raises(asyncpg.exceptions.CheckViolationError):
            await Customer.update(change).where(Customer.id == real.id)
    with pytest.raises(asyncpg.exceptions.CheckViolationError, match="customer_test_clock"):
        await factories.customer(test_clock=test_clock.id)
    # A test customer stays one, on a clock.
    tess = await factories.clock_customer(test_clock.id)
    for change in ({Customer.is_test: False}, {Customer.test_clock: None}):
        with pytest.raises(asyncpg.exceptions.CheckViolationError):
            await Customer.update(change).where(Customer.id == tess.id)
    assert await Customer.count().where(Customer.test_clock.is_not_null()) == 1


async def test_refund_form_is_for_billing_staff_and_explains_refusals(app: Litestar, client: httpx.AsyncClient) -> None:
    invoice = await factories.invoice(status="open", total_minor=1000)
    rows = await Payment.insert(
        Payment(
            invoice=invoice.id,
            customer=invoice.customer,
            amount_minor=1000,
            currency="USD",
            status="declined",
            idempotency_key="declined-attempt",
        )
    ).returning(Payment.id)
    form = {"payment_id": rows[0]["id"], "amount": "4.00", "reason": "goodwill"}
    async with staff_session(app, "support") as support:
        assert (await support.post(FORMS + "refund-a-payment/", json=form)).status_code == 403
    async with staff_session(app, "billing") as billing:
        refused = await billing.post(FORMS + "refund-a-payment/", json=form)
    assert refused.status_code != 200
    assert "nothing to refund" in refused.text


async def test_advancing_a_test_clock_runs_the_renewal_its_dunning_retries_and_the_final_action_in_time_order(
    app: Litestar, client: httpx.AsyncClient, job_ctx: dict[str, Any], sandbox: SandboxControl, vaulted: Vaulted,
    mailbox: Mailbox, gateway: PayPalGateway, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Two weeks in one advance: the reminder a week before, the renewal and its declined charge on day 8,
    retries on days 9, 11 and 13 (1, 3 and 5 days after), the last one's final action; each at its instant."""
    monkeypatch.setattr(admin_billing, "gateway_for", lambda settings: gateway)  # the sandbox the tests run
    t0 = datetime(2026, 5, 1, 12, tzinfo=UTC)
    day = [t0 + timedelta(days=n) for n in range(15)]
    test_clock = await create_test_clock("dunning", t0)
    customer = await factories.clock_customer(test_clock.id, email="late@example.com", name="Lou")
    method = await vaulted(customer.id, "late@example.com")
    plan = await factories.plan(name="Standard", amount_minor=1500, interval="month")
    sub = await factories.subscription(customer=customer.id, plan=plan.id, payment_method=method.id, ends_at=day[8])
    await sandbox.arm("instrument_declined", payer_email="late@example.com")

    async with staff_session(app, "billing") as staff:
        advanced = await staff.post(
            FORMS + "advance-a-test-clock/", json={"test_clock_id": test_clock.id, "to": day[14].isoformat()}
        )
    assert advanced.status_code == 200, advanced.text
    assert "1 renewed, 0 ended, 4 charge attempts, 0 checkouts expired, 1 reminders" in advanced.text
    assert "2026-05-09 12:00: 1 renewed, 1 charge attempts" in advanced.text

    # Each step recorded: the clock's moves, from one due instant to the next.
    moves = await payloads("test_clock.advanced")
    assert [m["to"] for m in moves] == [day[n].isoformat() for n in (1, 8, 9, 11, 13, 14)]
    notice = await BillingNotice.select(BillingNotice.kind, BillingNotice.created_at).first()
    assert notice == {"kind": "renewal", "created_at": day[1]}  # 7 days before the renewal
    failures = [
        (f["attempt"], f["next_attempt_at"], f["final_action"]) for f in await payloads("invoice.payment_failed")
    ]
    assert failures == [
        (1, day[9].isoformat(), None), (2, day[11].isoformat(), None), (3, day[13].isoformat(), None),
        (4, None, "unpaid"),
    ]  # fmt: skip
    events = await SubscriptionEvent.select(SubscriptionEvent.event, SubscriptionEvent.occurred_at).where(
        SubscriptionEvent.subscription == sub.id
    ).order_by(SubscriptionEvent.id)  # fmt: skip
    assert events == [
        {"event": "renew_failed", "occurred_at": day[8]}, {"event": "retries_exhausted", "occurred_at": day[13]}
    ]  # fmt: skip
    status = await Subscription.select(Subscription.status).where(Subscription.id == sub.id).first()
    assert status == {"status": "unpaid"}
    assert await Payment.count().where(Payment.status == "declined") == 4
    assert await sandbox.new_captures() == []

    # The e-mails follow the outbox. (The reminder's is not sent: it is read when dispatched, after the advance,
    # when the renewal it announced has happened.)
    await dispatch_outbox(job_ctx)
    [*_, last] = await mailbox.wait_for("billing_payment_failed", count=4)
    assert "suspended until the invoice is paid" in Mailbox.text(last)


async def payloads(event_type: str) -> list[dict[str, Any]]:
    rows = await OutboxEvent.select(OutboxEvent.payload).where(OutboxEvent.event_type == event_type).order_by(
        OutboxEvent.id
    ).output(load_json=True)  # fmt: skip
    return [row["payload"] for row in rows]


async def test_test_clocks_are_refused_with_live_paypal(settings: Settings) -> None:
    """With live PayPal a test customer's saved account is a real one: no clock is made, no customer put on
    one, and an existing clock does not advance (its renewals would take real money)."""
    live = admin_billing.BillingForms(replace(settings, paypal=replace(settings.paypal, mode="live")))
    superuser = SimpleNamespace(user=SimpleNamespace(user=BaseUser(id=1, superuser=True)), client=None, headers={})
    request: Any = superuser
    existing = await factories.test_clock(name="before the switch")
    attempts = [
        live.create_test_clock(request, admin_billing.CreateTestClockForm(name="live")),
        live.create_test_customer(request, admin_billing.CreateTestCustomerForm(
            test_clock_id=existing.id, email="tess@example.com", name="Tess")),
        live.advance_test_clock(request, admin_billing.AdvanceTestClockForm(
            test_clock_id=existing.id, to=clock.as_utc(existing.frozen_time) + timedelta(days=40))),
    ]  # fmt: skip
    for attempt in attempts:
        with pytest.raises(ValueError, match="PAYPAL_MODE=live"):
            await attempt
    assert await TestClock.count() == 1
    assert not await Customer.exists()
    assert (await TestClock.select(TestClock.frozen_time).first() or {})["frozen_time"] == existing.frozen_time
