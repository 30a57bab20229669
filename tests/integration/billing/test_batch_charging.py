"""The renewal shards' batched charging (app.billing.batch_charger) against the bundled sandbox: each invoice
captured once, the same rows, events and outbox events as the per-charge path (also when the invoice machine
changes: the batch pays through it), a declined and an unknown outcome in the same batch as successful ones,
and a batch's declines taken through dunning together (the single path's rows and e-mails, a fixed number of
statements however many declined)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import asyncpg
import pytest

from app.billing import service as invoice_service
from app.billing import states as invoice_states
from app.billing.batch_charger import BatchCharger
from app.billing.charger import attempt_prefix
from app.billing.charging import charge_invoices
from app.billing.collection import lease_invoices
from app.billing.errors import IllegalTransition
from app.billing.testclocks import advance_test_clock, create_test_clock
from tables.billing import Invoice, InvoiceEvent
from tables.outbox import OutboxEvent
from tables.payments import Payment, PaymentEvent
from tables.subscriptions import Subscription, SubscriptionEvent
from tasks.billing import collect_invoices
from tasks.outbox import dispatch_outbox
from tests import factories
from tests.integration.billing.conftest import Vaulted, with_policy
from tests.paypal import HELD_S, SandboxControl
from tests.smtp import Mailbox

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)
DUE = T0 + timedelta(days=1)


def batch_of(ctx: dict[str, Any]) -> BatchCharger:
    return BatchCharger(ctx["gateway"], ctx["settings"].billing, ctx["charge_invoice"])


async def renewed(vaulted: Vaulted, emails: list[str], amount: int = 1500) -> dict[str, int]:
    """Subscribers on one test clock renewing at DUE; the clock is advanced, so each has an open renewal
    invoice, leased for charging. Returns email -> invoice id."""
    test_clock = await create_test_clock("batch clock", T0)
    plan = await factories.plan(name="Standard", amount_minor=amount, interval="month")
    subscriptions = {}
    for email in emails:
        customer = await factories.clock_customer(test_clock.id, email=email, name="Ada Lovelace")
        method = await vaulted(customer.id, email)
        sub = await factories.subscription(customer=customer.id, plan=plan.id, payment_method=method.id, ends_at=DUE)
        subscriptions[sub.id] = email
    generated = await advance_test_clock(test_clock.id, DUE, actor="staff:1")
    assert len(await lease_invoices(invoice_ids=generated.invoice_ids)) == len(emails)
    rows = await Invoice.select(Invoice.id, Invoice.subscription).where(Invoice.id.is_in(generated.invoice_ids))
    return {subscriptions[r["subscription"]]: r["id"] for r in rows}


async def recorded(invoice_id: int) -> dict[str, Any]:
    """What charging wrote for one invoice, without ids and keys that differ by nature."""
    invoice = await Invoice.select().where(Invoice.id == invoice_id).first()
    assert invoice is not None
    [payment] = await Payment.select().where(Payment.invoice == invoice_id)
    payment_events = await PaymentEvent.select(
        PaymentEvent.event, PaymentEvent.from_status, PaymentEvent.to_status, PaymentEvent.actor, PaymentEvent.reason
    ).where(PaymentEvent.payment == payment["id"]).order_by(PaymentEvent.id)  # fmt: skip
    invoice_events = await InvoiceEvent.select(
        InvoiceEvent.event, InvoiceEvent.from_status, InvoiceEvent.to_status, InvoiceEvent.actor,
        InvoiceEvent.reason, InvoiceEvent.occurred_at,
    ).where(InvoiceEvent.invoice == invoice_id).order_by(InvoiceEvent.id)  # fmt: skip
    outbox = await (
        OutboxEvent.select(
            OutboxEvent.event_type, OutboxEvent.aggregate_type, OutboxEvent.aggregate_id, OutboxEvent.payload
        )
        .where(
            ((OutboxEvent.aggregate_type == "invoice") & (OutboxEvent.aggregate_id == str(invoice_id)))
            | ((OutboxEvent.aggregate_type == "payment") & (OutboxEvent.aggregate_id == str(payment["id"])))
        )
        .order_by(OutboxEvent.id)
        .output(load_json=True)
    )
    for event in outbox:
        del event["aggregate_id"]  # the ids differ; the types and payloads must not
        for key in ("payment_id", "invoice_id", "customer_id", "payment_method_id", "gateway_capture_id", "number",
                    "subscription", "subscription_id"):  # fmt: skip
            if key in event["payload"]:
                event["payload"][key] = bool(event["payload"][key])
    assert payment["idempotency_key"].startswith(attempt_prefix(invoice_id, invoice["attempt_count"] or 1))
    found = {
        "invoice": {
            k: invoice[k]
            for k in ("status", "amount_paid_minor", "paid_at", "next_payment_attempt_at", "attempt_count")
        },
        "payment": {
            k: payment[k]
            for k in (
                "status",
                "kind",
                "amount_minor",
                "currency",
                "failure_category",
                "failure_code",
                "failure_message",
                "amount_refunded_minor",
            )
        }
        | {"captured": payment["gateway_capture_id"] is not None, "ordered": payment["gateway_order_id"] is not None},
        "payment_events": [dict(e) for e in payment_events],
        "invoice_events": [dict(e) for e in invoice_events],
        "outbox": outbox,
    }
    return normalized(found)


def normalized(found: dict[str, Any]) -> dict[str, Any]:
    """PayPal's debug ids differ from call to call, and invoice ids in reasons from invoice to invoice, by nature."""
    text = re.sub(r"\(debug_id \w+\)", "(debug_id)", json.dumps(found, default=str))
    return json.loads(re.sub(r"invoice #\d+", "invoice #N", text))  # type: ignore[no-any-return]


async def test_a_batch_charges_each_invoice_once_and_records_what_the_single_path_does(
    job_ctx: dict[str, Any], sandbox: SandboxControl, vaulted: Vaulted
) -> None:
    emails = [f"batch{n}@example.com" for n in range(6)] + ["single@example.com"]
    invoices = await renewed(vaulted, emails)
    single = invoices.pop("single@example.com")
    # PayPal's webhooks arrive after both chargers recorded their answers (else whichever is first records the
    # success, as "paypal-webhook" or as the charger: both right, but not comparable row by row).
    await sandbox.hold_webhooks()
    report = await batch_of(job_ctx)(list(invoices.values()))
    await charge_invoices([single], job_ctx["charge_invoice"])

    assert (report.attempted, report.errors) == (6, {})
    captures = await sandbox.new_captures()
    assert len(captures) == 7
    assert await Payment.count() == 7
    captured = {c["id"] for c in captures}
    for payment in await Payment.select(Payment.gateway_capture_id):
        assert payment["gateway_capture_id"] in captured
    expected = await recorded(single)
    for invoice_id in invoices.values():
        assert await recorded(invoice_id) == expected
    assert expected["invoice"]["status"] == "paid"
    assert [e["event_type"] for e in expected["outbox"]] == ["invoice.finalize", "payment.succeeded", "invoice.pay"]

    # A replayed shard, the per-charge path, or a collection afterwards: nothing is charged again.
    again = await batch_of(job_ctx)(list(invoices.values()))
    await charge_invoices(list(invoices.values()), job_ctx["charge_invoice"])
    assert (again.attempted, again.errors) == (6, {})
    assert await collect_invoices(job_ctx) == 0
    assert len(await sandbox.new_captures()) == 7
    assert await Payment.count() == 7


async def test_a_batch_pays_through_the_invoice_machine_as_the_single_path_does(
    job_ctx: dict[str, Any], sandbox: SandboxControl, vaulted: Vaulted, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change to the invoice machine reaches the batch as it reaches the single path (here: paying stamps no
    ``paid_at``): a batch that wrote the invoice's payment by hand would still stamp it."""
    stamps = {event: column for event, column in invoice_states.MACHINE.stamps.items() if column != "paid_at"}
    monkeypatch.setattr(invoice_states, "MACHINE", replace(invoice_states.MACHINE, stamps=stamps))
    invoices = await renewed(vaulted, ["machine1@example.com", "machine2@example.com", "machine-single@example.com"])
    single = invoices.pop("machine-single@example.com")
    await sandbox.hold_webhooks()
    report = await batch_of(job_ctx)(list(invoices.values()))
    await charge_invoices([single], job_ctx["charge_invoice"])

    assert (report.attempted, report.errors) == (2, {})
    expected = await recorded(single)
    assert (expected["invoice"]["status"], expected["invoice"]["paid_at"]) == ("paid", None)
    for invoice_id in invoices.values():
        assert await recorded(invoice_id) == expected


async def test_a_payment_the_invoice_machine_refuses_is_refused_by_the_batch_as_by_the_single_path(
    job_ctx: dict[str, Any], sandbox: SandboxControl, vaulted: Vaulted, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a machine in which an open invoice cannot be paid, the batch records none of its invoices paid, as
    ``mark_paid`` (the single path's settlement) refuses: nothing is paid around the machine."""
    transitions = {k: v for k, v in invoice_states.TRANSITIONS.items() if k != (Invoice.Status.open, "pay")}
    monkeypatch.setattr(invoice_states, "MACHINE", replace(invoice_states.MACHINE, transitions=transitions))
    invoices = await renewed(vaulted, ["refused1@example.com", "refused2@example.com"])
    ids = list(invoices.values())
    await sandbox.hold_webhooks()  # only the charger hears of the captures

    with pytest.raises(IllegalTransition):
        await batch_of(job_ctx)(ids)
    with pytest.raises(IllegalTransition):
        await invoice_service.mark_paid(ids[0], actor="system:billing")

    assert {i["status"] for i in await Invoice.select(Invoice.status).where(Invoice.id.is_in(ids))} == {"open"}
    assert await InvoiceEvent.count().where(InvoiceEvent.event == "pay") == 0
    assert await OutboxEvent.count().where(OutboxEvent.event_type == "invoice.pay") == 0
    # The answers were not recorded either: each payment keeps its claim and key for the reconciler.
    assert {p["status"] for p in await Payment.select(Payment.status).where(Payment.invoice.is_in(ids))} == {
        "processing"
    }


async def test_a_declined_and_an_unknown_outcome_in_the_same_batch(
    job_ctx: dict[str, Any], sandbox: SandboxControl, vaulted: Vaulted
) -> None:
    emails = ["paid1@example.com", "declined@example.com", "unknown@example.com", "paid2@example.com"]
    invoices = await renewed(vaulted, emails)
    # The declined batch member must be recorded as the per-charge path records a decline: compare with one.
    [single] = (await renewed(vaulted, ["declined-single@example.com"])).values()
    await sandbox.hold_webhooks()  # PayPal's news comes late: only asking again can settle the unknown one
    await sandbox.arm("instrument_declined", payer_email="declined@example.com")
    await sandbox.arm("instrument_declined", payer_email="declined-single@example.com")
    await sandbox.arm("timeout_after_capture", payer_email="unknown@example.com", delay_s=HELD_S)

    report = await batch_of(job_ctx)(list(invoices.values()))
    await charge_invoices([single], job_ctx["charge_invoice"])

    assert (report.attempted, report.errors) == (4, {})
    statuses = {
        email: (await Payment.select(Payment.status).where(Payment.invoice == invoice_id).first() or {})["status"]
        for email, invoice_id in invoices.items()
    }
    assert statuses == {
        "paid1@example.com": "succeeded", "declined@example.com": "declined",
        "unknown@example.com": "unknown", "paid2@example.com": "succeeded",
    }  # fmt: skip
    declined = await recorded(invoices["declined@example.com"])
    single_declined = await recorded(single)
    for part in declined:
        assert (part, declined[part]) == (part, single_declined[part])
    assert declined["invoice"]["attempt_count"] == 1
    assert [e["event_type"] for e in declined["outbox"]] == [
        "invoice.finalize", "payment.failed", "invoice.payment_failed",
    ]  # fmt: skip
    declined_sub = await Subscription.select(Subscription.status).where(
        Subscription.id == (await Invoice.select(Invoice.subscription).where(
            Invoice.id == invoices["declined@example.com"]).first() or {})["subscription"]
    ).first()  # fmt: skip
    assert declined_sub is not None and declined_sub["status"] == "past_due"
    unknown = await recorded(invoices["unknown@example.com"])
    assert (unknown["invoice"]["status"], unknown["invoice"]["attempt_count"]) == ("open", 0)  # nothing counted
    [key_before] = await Payment.select(Payment.idempotency_key).where(
        Payment.invoice == invoices["unknown@example.com"]
    )  # fmt: skip

    # The unknown one is reconciled with the same key once its lease runs out: paid, never charged twice.
    await sandbox.clear_faults()
    clock_id = await factories_clock_of(invoices["unknown@example.com"])
    await advance_test_clock(clock_id, DUE + timedelta(minutes=11), actor="staff:1")
    await collect_invoices(job_ctx)
    assert (await Invoice.select(Invoice.status).where(Invoice.id == invoices["unknown@example.com"]).first() or {})[
        "status"
    ] == "paid"
    [key_after] = await Payment.select(Payment.idempotency_key).where(
        Payment.invoice == invoices["unknown@example.com"]
    )  # fmt: skip
    assert key_after == key_before
    captures = await sandbox.new_captures()
    assert len(captures) == 3  # paid1, paid2 and the unknown one, once
    assert len({c["id"] for c in captures}) == 3


async def factories_clock_of(invoice_id: int) -> int:
    row = await Invoice.select(Invoice.customer.test_clock).where(Invoice.id == invoice_id).first()
    assert row is not None
    return int(row["customer.test_clock"])


async def dunned(invoice_id: int) -> dict[str, Any]:
    """``recorded`` and what dunning did to the invoice's subscription: its status, event rows and outbox events."""
    found = await recorded(invoice_id)
    row = await Invoice.select(Invoice.subscription).where(Invoice.id == invoice_id).first()
    assert row is not None
    sub = await Subscription.select().where(Subscription.id == row["subscription"]).first()
    assert sub is not None
    events = await SubscriptionEvent.select(
        SubscriptionEvent.event, SubscriptionEvent.from_status, SubscriptionEvent.to_status, SubscriptionEvent.actor,
        SubscriptionEvent.reason, SubscriptionEvent.data, SubscriptionEvent.occurred_at,
    ).where(SubscriptionEvent.subscription == sub["id"]).order_by(SubscriptionEvent.id).output(
        load_json=True
    )  # fmt: skip
    outbox = await OutboxEvent.select(OutboxEvent.event_type, OutboxEvent.payload).where(
        (OutboxEvent.aggregate_type == "subscription") & (OutboxEvent.aggregate_id == str(sub["id"]))
    ).order_by(OutboxEvent.id).output(load_json=True)  # fmt: skip
    subscription = {k: sub[k] for k in ("status", "ended_at", "canceled_at", "cancel_reason", "updated_at")}
    moved = {"subscription": subscription, "subscription_events": events, "subscription_outbox": outbox}
    return found | normalized(moved)


@pytest.mark.parametrize(
    ("policy", "final_status"),
    [
        ({}, "past_due"),
        ({"dunning_retry_days": ()}, "unpaid"),
        ({"dunning_retry_days": (), "dunning_final_action": "cancel"}, "canceled"),
    ],
    ids=["retries-follow", "no-retries-unpaid", "no-retries-cancel"],
)
async def test_a_batchs_declines_go_through_dunning_together_with_the_single_paths_rows_and_mails(
    job_ctx: dict[str, Any], sandbox: SandboxControl, vaulted: Vaulted, mailbox: Mailbox,
    policy: dict[str, Any], final_status: str,
) -> None:  # fmt: skip
    ctx = with_policy(job_ctx, **policy)
    emails = ["paid@example.com", *(f"declined{n}@example.com" for n in range(3))]
    invoices = await renewed(vaulted, emails)
    [single] = (await renewed(vaulted, ["declined-single@example.com"])).values()
    for email in [*emails[1:], "declined-single@example.com"]:
        await sandbox.arm("instrument_declined", payer_email=email)

    report = await batch_of(ctx)(list(invoices.values()))
    await charge_invoices([single], ctx["charge_invoice"])

    assert (report.attempted, report.errors) == (4, {})
    expected = await dunned(single)
    assert expected["subscription"]["status"] == final_status
    for email in emails[1:]:
        found = await dunned(invoices[email])
        for part in expected:
            assert (part, found[part]) == (part, expected[part])
    assert (await dunned(invoices["paid@example.com"]))["subscription"]["status"] == "active"

    await dispatch_outbox(ctx)
    mails = await mailbox.wait_for("billing_payment_failed", count=4)
    numbers = {
        row["number"]
        for row in await Invoice.select(Invoice.number).where(Invoice.id.is_in([*invoices.values(), single]))
    }

    def text(mail: EmailMessage) -> str:
        body = Mailbox.text(mail)
        for number in numbers:
            body = body.replace(number, "INV-N")
        return re.sub(r"\(debug_id \w+\)", "(debug_id)", body)

    assert sorted(m["To"] for m in mails) == sorted([*emails[1:], "declined-single@example.com"])
    assert len({text(m) for m in mails}) == 1


async def test_the_dunning_step_of_a_batch_takes_as_many_statements_for_one_decline_as_for_many(
    job_ctx: dict[str, Any], sandbox: SandboxControl, vaulted: Vaulted, monkeypatch: pytest.MonkeyPatch
) -> None:
    statements: list[str] = []
    fetch = asyncpg.connection.Connection.fetch

    async def counted(self: asyncpg.Connection, query: str, *args: Any, **kwargs: Any) -> Any:
        statements.append(query)
        return await fetch(self, query, *args, **kwargs)

    async def statements_for(declines: int) -> int:
        emails = [f"decline{declines}-{n}@example.com" for n in range(declines)]
        invoices = await renewed(vaulted, emails)
        for email in emails:
            await sandbox.arm("instrument_declined", payer_email=email)
        with monkeypatch.context() as patch:
            patch.setattr(asyncpg.connection.Connection, "fetch", counted)
            statements.clear()
            report = await batch_of(job_ctx)(list(invoices.values()))
        assert (report.attempted, report.errors) == (declines, {})
        assert (
            await Invoice.count().where(Invoice.id.is_in(list(invoices.values())) & (Invoice.attempt_count == 1))
            == declines
        )
        return len(statements)

    assert await statements_for(1) == await statements_for(5)
