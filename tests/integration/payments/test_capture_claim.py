"""One payment of an invoice at a time (issue 5): two PayPal checkouts approved for the same invoice (two tabs),
or a checkout and a saved-method charge, that come back at the same moment move money once. The payment that
wins the invoice's claim asks PayPal; the other is closed without a call (``SUPERSEDED``: its approved order is
left uncaptured and expires), and the buyer who came back through it sees the invoice paid.

``RaceGate`` holds the racers at the gateway until both have passed their checks, so without the claim both
reach PayPal on every run."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from app.billing.charger import InvoiceCharger
from app.billing.wallet import pay_with_saved_method
from app.errors import Conflict
from app.payments import service
from app.payments.paypal import PayPalGateway
from app.settings import Settings
from app.subscriptions.checkout import CheckoutResult, finish_checkout
from tables.billing import Invoice, InvoiceEvent
from tables.payments import Payment, PaymentEvent
from tests import factories
from tests.integration.payments.test_checkout import approved_order
from tests.paypal import Buyer, RaceGate, SandboxControl

ACTOR = "customer:test"


@pytest.fixture
async def saved_method(sandbox: SandboxControl, invoice: Invoice) -> int:
    """The invoice's customer has a saved PayPal method too (renewals, the portal's "pay now")."""
    [token] = await sandbox.vault("jane@example.com")
    return (await factories.payment_method(token, customer=invoice.customer)).id


async def finish(gateway: Any, invoice: Invoice, order_id: str) -> CheckoutResult:
    return await finish_checkout(gateway, invoice.customer, order_id, actor=ACTOR)


async def assert_collected_once(sandbox: SandboxControl, invoice: Invoice) -> dict[str, Any]:
    """One capture at PayPal, one succeeded payment, the invoice paid once; returns the succeeded payment."""
    assert len(await sandbox.new_captures()) == 1
    [paid] = await Payment.select().where(Payment.status == Payment.Status.succeeded)
    row = await Invoice.select(Invoice.status, Invoice.amount_paid_minor).where(Invoice.id == invoice.id).first()
    assert row == {"status": "paid", "amount_paid_minor": 1250}
    assert await InvoiceEvent.count().where(InvoiceEvent.invoice == invoice.id, InvoiceEvent.event == "pay") == 1
    return dict(paid)


async def assert_superseded(order_id: str, sandbox: SandboxControl) -> None:
    """The losing checkout asked PayPal nothing: its order stays approved, uncaptured (it expires)."""
    row = await Payment.select().where(Payment.gateway_order_id == order_id).first()
    assert row is not None
    assert (row["status"], row["failure_code"], row["gateway_capture_id"]) == ("failed", "SUPERSEDED", None)
    assert await sandbox.captures_of(order_id) == []
    events = await PaymentEvent.select(PaymentEvent.event, PaymentEvent.to_status).where(
        PaymentEvent.payment == row["id"]
    )
    assert events == [{"event": "supersede", "to_status": "failed"}]


async def test_two_tabs_returning_at_once_capture_once(
    gateway: PayPalGateway, sandbox: SandboxControl, buyer: Buyer, invoice: Invoice
) -> None:
    first = await approved_order(gateway, invoice, buyer)
    second = await approved_order(gateway, invoice, buyer)
    gate = RaceGate(gateway)

    results = await asyncio.gather(finish(gate, invoice, first), finish(gate, invoice, second))

    paid = await assert_collected_once(sandbox, invoice)
    assert gate.calls == 1
    loser = second if paid["gateway_order_id"] == first else first
    await assert_superseded(loser, sandbox)
    # Both tabs show the invoice paid: the one that lost the claim waited for the other's answer.
    assert [(r.succeeded, r.pending, r.invoice_id) for r in results] == [(True, False, invoice.id)] * 2
    claim = await PaymentEvent.select(PaymentEvent.event, PaymentEvent.from_status, PaymentEvent.to_status).where(
        PaymentEvent.payment == paid["id"]
    )
    assert claim == [
        {"event": "claim", "from_status": "pending", "to_status": "processing"},
        {"event": "succeed", "from_status": "processing", "to_status": "succeeded"},
    ]


@pytest.mark.parametrize("first_back", [0, 1], ids=["first-tab-first", "second-tab-first"])
async def test_two_tabs_returning_one_after_the_other_capture_once(
    gateway: PayPalGateway, sandbox: SandboxControl, buyer: Buyer, invoice: Invoice, first_back: int
) -> None:
    orders = [await approved_order(gateway, invoice, buyer), await approved_order(gateway, invoice, buyer)]
    winner, loser = orders[first_back], orders[1 - first_back]

    one = await finish(gateway, invoice, winner)
    two = await finish(gateway, invoice, loser)
    again = await finish(gateway, invoice, loser)  # a reload of the second tab

    paid = await assert_collected_once(sandbox, invoice)
    assert paid["gateway_order_id"] == winner
    await assert_superseded(loser, sandbox)
    assert (one.succeeded, two.succeeded, again.succeeded) == (True, True, True)


async def test_the_payments_service_never_captures_a_second_order_of_a_collected_invoice(
    gateway: PayPalGateway, sandbox: SandboxControl, buyer: Buyer, invoice: Invoice
) -> None:
    """Without the portal's settlement in between: the claim itself refuses, not a check of the invoice."""
    first = await approved_order(gateway, invoice, buyer)
    second = await approved_order(gateway, invoice, buyer)

    won = await service.capture_checkout_payment(gateway, first)
    lost = await service.capture_checkout_payment(gateway, second)

    assert (won.status, lost.status, lost.failure_code) == ("succeeded", "failed", "SUPERSEDED")
    assert len(await sandbox.new_captures()) == 1
    await assert_superseded(second, sandbox)


Racer = Callable[[Any, Invoice, Settings], Awaitable[object]]


async def portal_pay(gateway: Any, invoice: Invoice, settings: Settings) -> object:
    return await pay_with_saved_method(gateway, invoice.customer, invoice.id, actor=ACTOR)


async def dunning_retry(gateway: Any, invoice: Invoice, settings: Settings) -> object:
    await InvoiceCharger(gateway, settings.billing)(invoice.id)
    return None


@pytest.mark.parametrize("charge", [portal_pay, dunning_retry], ids=["portal-pay", "dunning-retry"])
async def test_a_checkout_capture_racing_a_saved_method_charge_moves_money_once(
    gateway: PayPalGateway,
    sandbox: SandboxControl,
    buyer: Buyer,
    invoice: Invoice,
    settings: Settings,
    saved_method: int,
    charge: Racer,
) -> None:
    order_id = await approved_order(gateway, invoice, buyer)
    gate = RaceGate(gateway)

    checkout, charged = await asyncio.gather(
        finish(gate, invoice, order_id), charge(gate, invoice, settings), return_exceptions=True
    )

    paid = await assert_collected_once(sandbox, invoice)
    assert gate.calls == 1
    assert isinstance(checkout, CheckoutResult)
    assert (checkout.succeeded, checkout.pending) == (True, False)
    if paid["kind"] == Payment.Kind.checkout:
        # The charge found the invoice claimed: no payment of its own, nothing counted against the customer.
        assert isinstance(charged, Conflict) or charged is None, charged
        assert await Payment.count() == 1
    else:
        await assert_superseded(order_id, sandbox)
        assert not isinstance(charged, BaseException), charged
    assert (await Invoice.select(Invoice.attempt_count).where(Invoice.id == invoice.id))[0]["attempt_count"] == 0


async def test_a_saved_method_charge_after_a_checkout_capture_charges_nothing(
    gateway: PayPalGateway, sandbox: SandboxControl, buyer: Buyer, invoice: Invoice, saved_method: int
) -> None:
    order_id = await approved_order(gateway, invoice, buyer)
    assert (await service.capture_checkout_payment(gateway, order_id)).status == "succeeded"

    with pytest.raises(Conflict) as refused:  # the capture is recorded; the invoice is not settled yet
        await service.charge_invoice(gateway, invoice.id)

    assert refused.value.code == "invoice_payment_in_progress"
    assert len(await sandbox.new_captures()) == 1
    assert await Payment.count() == 1


class WorkerKilled(Exception):
    """The process dies after its claim committed and before PayPal heard anything."""


class CrashBeforeTheCall:
    async def capture_checkout(self, order_id: str, *, request_id: str) -> Any:
        raise WorkerKilled

    async def charge_vaulted(self, **call: Any) -> Any:
        raise WorkerKilled


async def test_a_crash_after_the_checkout_claim_is_reconciled_with_the_same_request(
    gateway: PayPalGateway, sandbox: SandboxControl, buyer: Buyer, invoice: Invoice
) -> None:
    first = await approved_order(gateway, invoice, buyer)
    second = await approved_order(gateway, invoice, buyer)
    with pytest.raises(WorkerKilled):
        await service.capture_checkout_payment(CrashBeforeTheCall(), first)
    [claimed] = await Payment.select().where(Payment.gateway_order_id == first)
    assert claimed["status"] == "processing"

    # The claim still holds: the other tab does not capture while the first attempt may yet move money ...
    lost = await service.capture_checkout_payment(gateway, second)
    assert (lost.status, lost.failure_code) == ("failed", "SUPERSEDED")
    assert await service.payments_to_reconcile() == []  # ... and the reconciler leaves fresh claims alone,
    assert await service.payments_to_reconcile(older_than_s=0) == [claimed["id"]]  # then repeats the same call.
    seq = await sandbox.last_seq()
    settled = await service.reconcile_unknown(gateway, claimed["id"])

    assert settled.status == "succeeded"
    [capture] = [e for e in await sandbox.journal(seq) if e["operation"] == "orders.capture"]
    assert capture["request_headers"]["paypal-request-id"] == claimed["idempotency_key"]
    assert [c["order_id"] for c in await sandbox.new_captures()] == [first]


async def test_a_crash_after_the_vaulted_claim_is_reconciled_with_the_same_request(
    gateway: PayPalGateway, sandbox: SandboxControl, invoice: Invoice, saved_method: int
) -> None:
    with pytest.raises(WorkerKilled):
        await service.charge_invoice(CrashBeforeTheCall(), invoice.id)
    [claimed] = await Payment.select()
    assert (claimed["status"], claimed["kind"]) == ("processing", "vaulted")
    assert await service.payments_to_reconcile(older_than_s=0) == [claimed["id"]]
    seq = await sandbox.last_seq()

    settled = await service.reconcile_unknown(gateway, claimed["id"])

    assert settled.status == "succeeded"
    [create] = [e for e in await sandbox.journal(seq) if e["operation"] == "orders.create"]
    assert create["request_headers"]["paypal-request-id"] == claimed["idempotency_key"]
    assert len(await sandbox.new_captures()) == 1
