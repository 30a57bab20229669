"""Staff change money and lifecycle rows only through the staff actions (the admin's forms), which call the
services the portal and the worker use: each test posts a form as the admin UI does and checks the services'
evidence (event rows, outbox events, the audit entry, PayPal's ledger, the mail the customer receives).

The tests run at a frozen instant (``clock.frozen_at``, which the in-process app sees too), so the prices of
plan changes (prorated by the second) and the dunning dates are the same whenever they run.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from litestar import Litestar

from app import clock
from app.billing import service as invoices
from app.billing.dunning import record_failure
from app.billing.lines import subscription_line
from app.billing.periods import Interval, first_period
from app.billing.renewal_rules import Renewal
from app.billing.renewals import upcoming_renewal
from app.billing.statements import invoice_detail
from app.payments import service as payments
from app.payments.paypal import PayPalGateway
from app.settings import Settings
from app.subscriptions import changes
from app.subscriptions.service import plan_terms
from tables.accounts import Customer
from tables.audit import AuditLog
from tables.billing import CreditNote, Invoice, InvoiceEvent
from tables.catalog import Plan
from tables.outbox import OutboxEvent
from tables.payments import Payment, PaymentEvent
from tables.subscriptions import Subscription, SubscriptionEvent
from tasks.outbox import dispatch_outbox
from tests import factories
from tests.integration.billing.conftest import Vaulted
from tests.integration.staff import staff_session
from tests.paypal import SandboxControl
from tests.smtp import Mailbox

FORMS = "/admin/api/forms/"
APR1 = datetime(2026, 4, 1, tzinfo=UTC)
NOW = datetime(2026, 4, 16, tzinfo=UTC)  # when the tests run: half-way through the customers' April period
MONTH = Interval.of("month")


@pytest.fixture(autouse=True)
def staff_gateway(app: Litestar, gateway: PayPalGateway) -> Iterator[None]:
    """The admin's actions reach PayPal through the app's gateway: point it at the sandbox."""
    previous = app.state.gateway
    app.state.gateway = gateway
    yield
    app.state.gateway = previous


async def post(http: httpx.AsyncClient, form: str, **fields: Any) -> httpx.Response:
    return await http.post(f"{FORMS}{form}/", json=fields)


def answer(response: httpx.Response) -> str:
    """The form's message, as the admin shows it (success or refusal)."""
    body = response.json()
    return str(body.get("custom_form_success") or body.get("custom_form_error") or body)


async def ada(email: str = "ada@example.com") -> Customer:
    return await factories.customer(email=email, name="Ada")


async def subscribed(customer_id: int, plan: Plan, start: datetime = APR1, **values: Any) -> Subscription:
    period = first_period(start, MONTH)
    return await factories.subscription(customer=customer_id, plan=plan.id, current_period_start=period.start,
                                        current_period_end=period.end, billing_anchor=start, **values)  # fmt: skip


async def renewed(customer_id: int, plan: Plan, **values: Any) -> Subscription:
    """A subscription whose period renewed at the clock's time (its new period starts now)."""
    return await subscribed(customer_id, plan, NOW, **values)


async def failed_renewal(settings: Settings, sub: Subscription, plan: Plan) -> int:
    """The renewal invoice of ``sub``'s current period, declined once at the clock's time: the subscription is
    past due and dunning has scheduled the next attempt a day later."""
    period = first_period(NOW, MONTH)
    line = subscription_line(await plan_terms(plan.id), period)
    invoice_id = await invoices.create_draft(
        sub.customer, plan.currency, [line], subscription_id=sub.id,
        billing_reason=Invoice.BillingReason.subscription_cycle, period=period,
    )  # fmt: skip
    await invoices.finalize(invoice_id, actor="system", at=NOW)
    await record_failure(invoice_id, reason="declined", policy=settings.billing, actor="system", at=NOW)
    return invoice_id


async def behind(settings: Settings, customer_id: int, **values: Any) -> tuple[Subscription, int]:
    """A $29/month subscription whose renewal was declined: past due, with its open invoice."""
    plan = await factories.plan(amount_minor=2900)
    sub = await renewed(customer_id, plan, **values)
    return sub, await failed_renewal(settings, sub, plan)


async def behind_with_a_saved_method(settings: Settings, vaulted: Vaulted) -> tuple[Subscription, int]:
    """``behind``, with the PayPal account of late@example.com saved."""
    customer = await ada("late@example.com")
    method = await vaulted(customer.id, "late@example.com")
    return await behind(settings, customer.id, payment_method=method.id)


async def audited(action: str) -> list[dict[str, Any]]:
    return list(
        await AuditLog.select(AuditLog.actor, AuditLog.target_id, AuditLog.after)
        .where(AuditLog.action == action)
        .output(load_json=True)
    )


async def trail(subscription_id: int) -> list[tuple[str, str, str]]:
    rows = await SubscriptionEvent.select(SubscriptionEvent.event, SubscriptionEvent.to_status,
                                          SubscriptionEvent.actor).where(
        SubscriptionEvent.subscription == subscription_id).order_by(SubscriptionEvent.id)  # fmt: skip
    return [(r["event"], r["to_status"], r["actor"]) for r in rows]


async def outbox(event_type: str) -> list[dict[str, Any]]:
    rows = await OutboxEvent.select(OutboxEvent.payload).where(OutboxEvent.event_type == event_type).output(
        load_json=True
    )  # fmt: skip
    return [row["payload"] for row in rows]


async def staff_actor(username: str = "billing-staff") -> str:
    from piccolo.apps.user.tables import BaseUser

    row = await BaseUser.select(BaseUser.id).where(BaseUser.username == username).first()
    assert row is not None
    return f"staff:{row['id']}"


@pytest.mark.parametrize(
    ("role", "refused"),
    [
        ("content", ["cancel-a-subscription", "retry-a-payment-now", "resend-a-receipt", "send-a-password-reset-link"]),
        ("support", ["cancel-a-subscription", "keep-a-subscription", "pause-or-resume-a-subscription",
                     "change-the-plan-of-a-subscription", "extend-a-trial", "retry-a-payment-now",
                     "void-or-write-off-an-invoice", "credit-an-invoice", "refund-a-payment"]),
        ("billing", ["resend-the-confirmation-e-mail", "send-a-password-reset-link",
                     "reset-two-factor-authentication"]),
    ],
)  # fmt: skip
async def test_each_action_is_for_its_roles(
    role: str, refused: list[str], app: Litestar, client: httpx.AsyncClient
) -> None:
    sub = await factories.subscription()
    fields = {"subscription_id": sub.id, "invoice_id": 1, "customer_id": sub.customer, "payment_id": 1,
              "reason": "x", "plan_code": "x", "trial_end": "2030-01-01T00:00:00Z"}  # fmt: skip
    actions = {"pause-or-resume-a-subscription": "pause", "void-or-write-off-an-invoice": "void"}
    async with staff_session(app, role) as staff:
        for form in refused:
            response = await post(staff, form, **fields, **({"action": actions[form]} if form in actions else {}))
            assert response.status_code == 403, (form, response.text)
    assert await trail(sub.id) == []
    assert not await AuditLog.exists().where(AuditLog.action.like("subscription.%"))


async def test_cancel_at_the_period_end_then_keep_it(app: Litestar, client: httpx.AsyncClient) -> None:
    with clock.frozen_at(NOW):
        customer = await ada()
        sub = await subscribed(customer.id, await factories.plan(name="Plus"))
        async with staff_session(app, "billing") as staff:
            canceled = await post(staff, "cancel-a-subscription", subscription_id=sub.id, reason="moving abroad")
            assert canceled.status_code == 200, canceled.text
            assert "ends at its period end, 2026-05-01 00:00 UTC" in answer(canceled)
            row = await Subscription.select().where(Subscription.id == sub.id).first()
            assert row is not None
            assert (row["status"], row["cancel_at_period_end"], row["cancel_reason"]) == (
                "active",
                True,
                "moving abroad",
            )
            kept = await post(staff, "keep-a-subscription", subscription_id=sub.id)
            assert kept.status_code == 200, kept.text
        actor = await staff_actor()
        scheduled, undone = await outbox("subscription.cancel_scheduled"), await outbox("subscription.cancel_undone")
        assert [(p["actor"], p["reason"]) for p in scheduled] == [(actor, "moving abroad")]
        assert [p["actor"] for p in undone] == [actor]
        row = await Subscription.select(Subscription.cancel_at_period_end).where(Subscription.id == sub.id).first()
        assert row == {"cancel_at_period_end": False}
        assert [(a["actor"], a["after"]["when"]) for a in await audited("subscription.cancel")] == [
            (actor, "at period end")
        ]
        assert len(await audited("subscription.cancel_undone")) == 1


async def test_cancel_now_ends_the_subscription_and_mails_the_customer(
    app: Litestar, client: httpx.AsyncClient, job_ctx: dict[str, Any], mailbox: Mailbox
) -> None:
    with clock.frozen_at(NOW):
        customer = await ada()
        sub = await subscribed(customer.id, await factories.plan(name="Plus"))
        unpaid = await subscribed(customer.id, await factories.plan(), status="incomplete")
        async with staff_session(app, "billing") as staff:
            response = await post(staff, "cancel-a-subscription", subscription_id=sub.id, when="now", reason="fraud")
            incomplete = await post(staff, "cancel-a-subscription", subscription_id=unpaid.id, when="now", reason="x")
        assert "was never paid for: it lapses by itself" in answer(incomplete)
        assert await trail(unpaid.id) == []
        assert response.status_code == 200, response.text
        assert "access ended now" in answer(response)
        actor = await staff_actor()
        assert await trail(sub.id) == [("cancel", "canceled", actor)]
        row = await Subscription.select(Subscription.cancel_reason, Subscription.ended_at).where(
            Subscription.id == sub.id
        ).first()  # fmt: skip
        assert row == {"cancel_reason": "fraud", "ended_at": NOW}
        assert [a["after"]["reason"] for a in await audited("subscription.cancel")] == ["fraud"]
        await dispatch_outbox(job_ctx)
        [mail] = await mailbox.wait_for("billing_subscription_canceled")
        assert mail["To"] == "ada@example.com"


async def test_pause_and_resume(app: Litestar, client: httpx.AsyncClient) -> None:
    with clock.frozen_at(NOW):
        customer = await ada()
        sub = await subscribed(customer.id, await factories.plan())
        async with staff_session(app, "billing") as staff:
            paused = await post(staff, "pause-or-resume-a-subscription", subscription_id=sub.id, action="pause",
                                reason="customer in hospital")  # fmt: skip
            assert paused.status_code == 200, paused.text
            again = await post(staff, "pause-or-resume-a-subscription", subscription_id=sub.id, action="pause")
            assert again.status_code == 422
            assert answer(again) == "A subscription that is paused cannot pause."
            resumed = await post(staff, "pause-or-resume-a-subscription", subscription_id=sub.id, action="resume")
            assert resumed.status_code == 200, resumed.text
        actor = await staff_actor()
        assert await trail(sub.id) == [("pause", "paused", actor), ("resume", "active", actor)]
        entries = await AuditLog.select(AuditLog.action).where(AuditLog.actor == actor).order_by(AuditLog.id)
        assert [a["action"] for a in entries if a["action"].startswith("subscription.")] == [
            "subscription.pause", "subscription.resume"
        ]  # fmt: skip


async def test_change_plan_shows_the_customers_preview_then_charges_it(
    app: Litestar, client: httpx.AsyncClient, vaulted: Vaulted, sandbox: SandboxControl
) -> None:
    with clock.frozen_at(NOW):
        customer = await ada("buyer@example.com")
        method = await vaulted(customer.id, "buyer@example.com")
        basic = await factories.plan(name="Basic", code="basic", amount_minor=900)
        plus = await factories.plan(name="Plus", code="plus", amount_minor=1900, product=basic.product)
        sub = await subscribed(customer.id, basic, payment_method=method.id)
        expected = await changes.preview_plan_change(sub.id, plus.id)  # at the customer's (frozen) time
        due = f"${expected.due_now_minor / 100:.2f}"
        async with staff_session(app, "billing") as staff:
            preview = await post(staff, "change-the-plan-of-a-subscription", subscription_id=sub.id, plan_code="plus")
            assert preview.status_code == 200, preview.text
            assert f"the customer pays {due} now" in answer(preview)
            assert "Next bill: $19.00 on 2026-05-01 00:00 UTC" in answer(preview)
            assert not await Invoice.exists()  # a preview changes nothing
            done = await post(staff, "change-the-plan-of-a-subscription", subscription_id=sub.id, plan_code="plus",
                              confirm=True)  # fmt: skip
        assert done.status_code == 200, done.text
        assert answer(done) == f"Subscription #{sub.id} is on Plus now."
        assert [c["amount"] for c in await sandbox.new_captures()] == [due.removeprefix("$")]
        [invoice] = await Invoice.select(Invoice.total_minor, Invoice.status)
        assert invoice == {"total_minor": expected.due_now_minor, "status": "paid"}
        actor = await staff_actor()
        assert await trail(sub.id) == [("plan_change", "active", actor)]
        assert [a["after"]["applied"] for a in await audited("subscription.plan_change")] == [True]


async def test_extend_a_trial_moves_the_first_bill(app: Litestar, client: httpx.AsyncClient) -> None:
    with clock.frozen_at(NOW):
        customer = await ada()
        plan = await factories.plan(amount_minor=1500)
        trial_end = datetime(2026, 4, 20, tzinfo=UTC)
        sub = await factories.subscription(customer=customer.id, plan=plan.id, status="trialing", trial_end=trial_end,
                                           current_period_start=APR1, current_period_end=trial_end,
                                           billing_anchor=trial_end)  # fmt: skip
        later = datetime(2026, 5, 4, 12, tzinfo=UTC)
        async with staff_session(app, "billing") as staff:
            earlier = await post(
                staff, "extend-a-trial", subscription_id=sub.id, trial_end=APR1.isoformat(), reason="x"
            )
            assert earlier.status_code == 422
            assert "already runs until 2026-04-20 00:00 UTC" in answer(earlier)
            extended = await post(staff, "extend-a-trial", subscription_id=sub.id, trial_end=later.isoformat(),
                                  reason="sorry for the outage")  # fmt: skip
        assert extended.status_code == 200, extended.text
        row = await Subscription.select(
            Subscription.trial_end, Subscription.current_period_end, Subscription.billing_anchor
        ).where(Subscription.id == sub.id).first()  # fmt: skip
        assert row == {"trial_end": later, "current_period_end": later, "billing_anchor": later}
        actor = await staff_actor()
        assert await trail(sub.id) == [("trial_extended", "trialing", actor)]
        assert [p["to"] for p in await outbox("subscription.trial_extended")] == [later.isoformat()]
        # The billing run's own decision: the trial ends at the new end, and the first paid month counts from it.
        renewal = await upcoming_renewal(sub.id)
        assert isinstance(renewal, Renewal)
        assert renewal.period == first_period(later, MONTH)
        assert [a["after"]["reason"] for a in await audited("subscription.trial_extended")] == ["sorry for the outage"]


async def test_retry_a_payment_now_counts_a_decline_and_collects_on_success(
    app: Litestar, client: httpx.AsyncClient, settings: Settings, vaulted: Vaulted, sandbox: SandboxControl
) -> None:
    with clock.frozen_at(NOW):
        sub, invoice_id = await behind_with_a_saved_method(settings, vaulted)
        await sandbox.arm("instrument_declined", payer_email="late@example.com")
        async with staff_session(app, "billing") as staff:
            declined = await post(staff, "retry-a-payment-now", invoice_id=invoice_id)
            assert declined.status_code == 200, declined.text
            assert "It counts as a failed attempt; the next attempt is 2026-04-19 00:00 UTC." in answer(declined)
            await sandbox.clear_faults()
            paid = await post(staff, "retry-a-payment-now", invoice_id=invoice_id)
            assert paid.status_code == 200, paid.text
            assert answer(paid).startswith(f"Invoice #{invoice_id} is paid")
            again = await post(staff, "retry-a-payment-now", invoice_id=invoice_id)
        assert "is paid: there is nothing to collect" in answer(again)
        assert [c["amount"] for c in await sandbox.new_captures()] == ["29.00"]
        actor = await staff_actor()
        statuses = await Payment.select(Payment.status).order_by(Payment.id)
        assert [p["status"] for p in statuses] == ["declined", "succeeded"]
        assert await PaymentEvent.exists().where(PaymentEvent.event == "succeed", PaymentEvent.actor == actor)
        assert await trail(sub.id) == [("renew_failed", "past_due", "system"), ("pay", "active", actor)]
        assert [p["attempt"] for p in await outbox("invoice.payment_failed")] == [1, 2]
        assert [a["after"]["status"] for a in await audited("billing.payment_retried")] == ["declined", "succeeded"]


async def test_void_forgives_the_renewal_a_subscription_was_behind_on(
    app: Litestar, client: httpx.AsyncClient, settings: Settings
) -> None:
    with clock.frozen_at(NOW):
        customer = await ada()
        sub, invoice_id = await behind(settings, customer.id)
        other, written_off = await behind(settings, customer.id)
        _, busy = await behind(settings, customer.id)
        await Payment.insert(Payment(invoice=busy, customer=customer.id, amount_minor=2900, currency="USD",
                                     status="processing", idempotency_key="in-flight"))  # fmt: skip
        async with staff_session(app, "billing") as staff:
            voided = await post(staff, "void-or-write-off-an-invoice", invoice_id=invoice_id, action="void",
                                reason="billed twice")  # fmt: skip
            uncollectible = await post(staff, "void-or-write-off-an-invoice", invoice_id=written_off,
                                       action="mark uncollectible", reason="bankrupt")  # fmt: skip
            refused = await post(staff, "void-or-write-off-an-invoice", invoice_id=busy, action="void", reason="x")
            twice = await post(staff, "void-or-write-off-an-invoice", invoice_id=invoice_id,
                               action="mark uncollectible", reason="x")  # fmt: skip
        assert answer(twice).endswith(" is void: it cannot be marked uncollectible.")
        assert voided.status_code == 200, voided.text
        assert f"Subscription #{sub.id} was behind only on it: it is active again." in answer(voided)
        assert f"Subscription #{other.id} stays past_due." in answer(uncollectible)
        assert refused.status_code == 422
        assert "under way at PayPal" in answer(refused)
        actor = await staff_actor()
        statuses = await Invoice.select(Invoice.id, Invoice.status).order_by(Invoice.id)
        assert [r["status"] for r in statuses] == ["void", "uncollectible", "open"]
        assert await InvoiceEvent.exists().where(InvoiceEvent.event == "void", InvoiceEvent.actor == actor)
        assert (await trail(sub.id))[-1] == ("forgive", "active", actor)
        assert (await trail(other.id))[-1] == ("renew_failed", "past_due", "system")
        assert await outbox("subscription.forgive")
        assert [a["target_id"] for a in await audited("billing.invoice_void")] == [str(invoice_id)]
        assert [a["target_id"] for a in await audited("billing.invoice_uncollectible")] == [str(written_off)]


async def test_a_goodwill_credit_lowers_what_an_open_invoice_owes_and_settles_it_when_nothing_is_left(
    app: Litestar, client: httpx.AsyncClient, settings: Settings, gateway: PayPalGateway
) -> None:
    with clock.frozen_at(NOW):
        customer = await ada()
        sub, invoice_id = await behind(settings, customer.id)
        # A checkout the customer started for the full amount: once credited, it can no longer collect $29.
        checkout = await payments.start_checkout_payment(
            gateway, invoice_id, return_url="http://x/r", cancel_url="http://x/c"
        )
        order = await Payment.select(Payment.gateway_order_id).where(Payment.id == checkout.payment_id).first() or {}
        async with staff_session(app, "billing") as staff:
            too_much = await post(staff, "credit-an-invoice", invoice_id=invoice_id, amount="30.00", reason="outage")
            assert too_much.status_code == 422
            assert "still owes $29.00: credit at most that" in answer(too_much)
            part = await post(staff, "credit-an-invoice", invoice_id=invoice_id, amount="5.00", reason="outage")
            assert part.status_code == 200, part.text
            assert "takes $5.00 off invoice" in answer(part) and "$24.00 is still due" in answer(part)
            assert (await invoice_detail(customer.id, invoice_id)).amount_due_minor == 2400
            late = await payments.capture_checkout_payment(gateway, order["gateway_order_id"])
            assert (late.status, late.failure_message) == (
                "failed",
                "PayPal was not asked: the invoice now owes $24.00",
            )
            rest = await post(staff, "credit-an-invoice", invoice_id=invoice_id, reason="outage")
            assert rest.status_code == 200, rest.text
            assert "nothing is left to pay: it is paid" in answer(rest)
            paid = await post(staff, "credit-an-invoice", invoice_id=invoice_id, amount="1.00", reason="more")
        assert "is paid: a credit without a refund would have to be kept as a customer credit balance" in answer(paid)
        notes = await CreditNote.select(CreditNote.amount_minor, CreditNote.reason).order_by(CreditNote.id)
        assert notes == [{"amount_minor": 500, "reason": "outage"}, {"amount_minor": 2400, "reason": "outage"}]
        row = await Invoice.select(Invoice.status, Invoice.amount_paid_minor).where(Invoice.id == invoice_id).first()
        assert row == {"status": "paid", "amount_paid_minor": 0}
        actor = await staff_actor()
        assert (await trail(sub.id))[-1] == ("pay", "active", actor)
        assert len(await outbox("credit_note.issued")) == 2
        assert [a["after"]["amount_minor"] for a in await audited("billing.goodwill_credit")] == [500, 2400]


async def test_a_partly_credited_invoice_is_charged_what_it_still_owes(
    app: Litestar, client: httpx.AsyncClient, settings: Settings, vaulted: Vaulted, sandbox: SandboxControl
) -> None:
    with clock.frozen_at(NOW):
        _, invoice_id = await behind_with_a_saved_method(settings, vaulted)
        async with staff_session(app, "billing") as staff:
            credited = await post(staff, "credit-an-invoice", invoice_id=invoice_id, amount="9.00", reason="outage")
            assert credited.status_code == 200, credited.text
            paid = await post(staff, "retry-a-payment-now", invoice_id=invoice_id)
        assert paid.status_code == 200, paid.text
        assert [c["amount"] for c in await sandbox.new_captures()] == ["20.00"]
        row = await Invoice.select(Invoice.status, Invoice.amount_paid_minor).where(Invoice.id == invoice_id).first()
        assert row == {"status": "paid", "amount_paid_minor": 2000}


async def test_resend_a_receipt(app: Litestar, client: httpx.AsyncClient, settings: Settings, mailbox: Mailbox) -> None:
    with clock.frozen_at(NOW):
        customer = await ada()
        plan = await factories.plan(amount_minor=2900, name="Plus")
        sub = await renewed(customer.id, plan)
        unpaid = await failed_renewal(settings, sub, plan)
        paid = await invoices.create_draft(customer.id, "USD", [subscription_line(await plan_terms(plan.id),
                                           first_period(APR1, MONTH))])  # fmt: skip
        await invoices.finalize(paid, actor="system", at=APR1)
        await invoices.mark_paid(paid, actor="system", at=APR1)
        async with staff_session(app, "support") as support:
            refused = await post(support, "resend-a-receipt", invoice_id=unpaid)
            sent = await post(support, "resend-a-receipt", invoice_id=paid)
        assert "is open: only a paid invoice has a receipt" in answer(refused)
        assert sent.status_code == 200, sent.text
        assert answer(sent) == "The receipt is on its way to ada@example.com."
        [mail] = await mailbox.wait_for("billing_receipt")
        assert mail["To"] == "ada@example.com"
        assert "$29.00" in Mailbox.text(mail)
        assert [a["target_id"] for a in await audited("billing.receipt_resent")] == [str(paid)]


async def test_the_refund_form_shows_amounts_as_money(app: Litestar, client: httpx.AsyncClient) -> None:
    invoice = await factories.invoice(status="paid", total_minor=1000)
    [payment] = await Payment.insert(
        Payment(invoice=invoice.id, customer=invoice.customer, amount_minor=1000, currency="USD", status="succeeded",
                idempotency_key="captured", gateway_capture_id="CAPTURE-1")
    ).returning(Payment.id)  # fmt: skip
    async with staff_session(app, "billing") as billing:
        refused = await post(billing, "refund-a-payment", payment_id=payment["id"], amount="12.00", reason="x")
    assert refused.status_code == 422
    assert answer(refused) == f"A refund of payment #{payment['id']} can be at most $10.00."
