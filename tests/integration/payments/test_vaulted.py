"""Saved methods: vault without a purchase (trials), merchant-initiated charges, deletion."""

from __future__ import annotations

import asyncio

import pytest

from app.payments import methods, service
from app.payments.paypal import PayPalGateway
from tables.billing import Invoice
from tables.payments import Payment, PaymentEvent, PaymentMethod, WebhookEvent
from tests import factories
from tests.paypal import HELD_S, Buyer, SandboxControl

RETURN_URL = "https://shop.example/vault/return"
CANCEL_URL = "https://shop.example/vault/cancel"


async def vault_for(gateway: PayPalGateway, customer_id: int, email: str = "jane@example.com") -> int:
    setup = await methods.start_vault_setup(gateway, customer_id, return_url=RETURN_URL, cancel_url=CANCEL_URL)
    buyer = Buyer(email)
    query = await buyer.approve(setup.approve_url)
    assert buyer.last_redirect.startswith(RETURN_URL + "?")
    assert query["approval_token_id"] == setup.setup_token
    return await methods.complete_vault_setup(gateway, customer_id, query["approval_token_id"])


@pytest.fixture
async def method_id(gateway: PayPalGateway, invoice: Invoice) -> int:
    return await vault_for(gateway, invoice.customer)


async def test_vault_without_purchase_then_charge(
    gateway: PayPalGateway, sandbox: SandboxControl, invoice: Invoice, method_id: int
) -> None:
    method = await PaymentMethod.objects().get(PaymentMethod.id == method_id)
    assert (method.customer, method.label, method.status) == (invoice.customer, "PayPal j***@example.com", "active")
    assert method.payer_id

    outcome = await service.charge_invoice(gateway, invoice.id)

    assert outcome.status == Payment.Status.succeeded
    payment = await Payment.objects().get(Payment.id == outcome.payment_id)
    assert (payment.kind, payment.payment_method, payment.amount_minor) == ("vaulted", method_id, 1250)
    [capture] = await sandbox.new_captures()
    assert payment.gateway_capture_id == capture["id"]
    seq = [e for e in await sandbox.journal() if e["operation"] == "orders.create"][-1]
    assert seq["request_body"]["payment_source"] == {"paypal": {"vault_id": method.vault_token}}
    assert seq["request_headers"]["paypal-request-id"] == payment.idempotency_key
    await sandbox.flush()
    assert await WebhookEvent.count().where(WebhookEvent.status == WebhookEvent.Status.processed) >= 1


async def test_vault_setup_is_idempotent_on_the_setup_token(gateway: PayPalGateway, sandbox: SandboxControl) -> None:
    customer = await factories.customer()
    setup = await methods.start_vault_setup(gateway, customer.id, return_url=RETURN_URL, cancel_url=CANCEL_URL)
    await Buyer().approve(setup.approve_url)
    first = await methods.complete_vault_setup(gateway, customer.id, setup.setup_token)
    again = await methods.complete_vault_setup(gateway, customer.id, setup.setup_token)  # a retry after a lost answer
    assert first == again
    assert await PaymentMethod.count() == 1


@pytest.mark.parametrize(
    ("kind", "code"),
    [("instrument_declined", "INSTRUMENT_DECLINED"), ("payer_action_required", "PAYER_ACTION_REQUIRED")],
)
async def test_charge_declined(
    gateway: PayPalGateway, sandbox: SandboxControl, invoice: Invoice, method_id: int, kind: str, code: str
) -> None:
    await sandbox.arm(kind, payer_email="jane@example.com")

    outcome = await service.charge_invoice(gateway, invoice.id)

    assert (outcome.status, outcome.failure_category, outcome.failure_code) == ("declined", "declined", code)
    assert await sandbox.new_captures() == []


async def test_insufficient_funds_declines_and_the_denied_webhook_agrees(
    gateway: PayPalGateway, sandbox: SandboxControl, invoice: Invoice, method_id: int
) -> None:
    await sandbox.arm("insufficient_funds", operation="orders.create")

    outcome = await service.charge_invoice(gateway, invoice.id)

    assert (outcome.status, outcome.failure_code) == ("declined", "CAPTURE_DECLINED")
    [capture] = await sandbox.new_captures()
    assert capture["status"] == "DECLINED"
    await sandbox.flush()
    [hook] = await WebhookEvent.select(WebhookEvent.status).where(WebhookEvent.event_type == "PAYMENT.CAPTURE.DENIED")
    assert hook["status"] == "processed"
    assert await PaymentEvent.count().where(PaymentEvent.payment == outcome.payment_id) == 1


@pytest.mark.parametrize(("kind", "code"), [("http_500", "INTERNAL_SERVER_ERROR"), ("http_429", "RATE_LIMIT_REACHED")])
async def test_retryable_failure_then_reconciled(
    gateway: PayPalGateway, sandbox: SandboxControl, invoice: Invoice, method_id: int, kind: str, code: str
) -> None:
    await sandbox.arm(kind, operation="orders.create")

    outcome = await service.charge_invoice(gateway, invoice.id)

    assert (outcome.status, outcome.failure_category, outcome.failure_code) == ("unknown", "retryable", code)
    assert await service.payments_to_reconcile(older_than_s=0) == [outcome.payment_id]
    settled = await service.reconcile_unknown(gateway, outcome.payment_id)
    assert settled.status == "succeeded"
    assert len(await sandbox.new_captures()) == 1


async def test_timeout_after_capture_then_billing_retries_the_invoice(
    gateway: PayPalGateway, sandbox: SandboxControl, invoice: Invoice, method_id: int
) -> None:
    await sandbox.hold_webhooks()
    await sandbox.arm("timeout_after_capture", operation="orders.create", delay_s=HELD_S)

    outcome = await service.charge_invoice(gateway, invoice.id)

    assert (outcome.status, outcome.failure_code) == ("unknown", "TIMEOUT")
    assert len(await sandbox.new_captures()) == 1  # charged, unheard
    # Billing's dunning asks again for the same invoice: the payment in flight is resumed with its own key.
    again = await service.charge_invoice(gateway, invoice.id)
    assert (again.payment_id, again.status) == (outcome.payment_id, "succeeded")
    assert len(await sandbox.new_captures()) == 1
    assert await Payment.count() == 1


async def test_same_idempotency_key_resumes_the_same_payment(
    gateway: PayPalGateway, sandbox: SandboxControl, invoice: Invoice, method_id: int
) -> None:
    first = await service.charge_invoice(gateway, invoice.id, idempotency_key="renew-7-2026-11-attempt-1")
    again = await service.charge_invoice(gateway, invoice.id, idempotency_key="renew-7-2026-11-attempt-1")
    assert first == again
    assert len(await sandbox.new_captures()) == 1


async def test_slow_response_within_the_timeout_succeeds(
    gateway: PayPalGateway, sandbox: SandboxControl, invoice: Invoice, method_id: int
) -> None:
    await sandbox.arm("slow", operation="orders.create", delay_s=0.5)
    outcome = await service.charge_invoice(gateway, invoice.id)
    assert outcome.status == "succeeded"


async def test_slow_response_beyond_the_timeout_is_unknown_not_a_second_charge(
    gateway: PayPalGateway, sandbox: SandboxControl, invoice: Invoice, method_id: int
) -> None:
    await sandbox.hold_webhooks()
    await sandbox.arm("slow", operation="orders.create", delay_s=HELD_S)
    outcome = await service.charge_invoice(gateway, invoice.id)
    assert (outcome.status, outcome.failure_code) == ("unknown", "TIMEOUT")
    # Asked again with the same key while PayPal still works on the first request: 409, still unknown (never a
    # failure, never a second charge); asked once the first is done, its result.
    again = await service.reconcile_unknown(gateway, outcome.payment_id)
    assert (again.status, again.failure_code) == ("unknown", "PREVIOUS_REQUEST_IN_PROGRESS")
    async with asyncio.timeout(HELD_S + 10):
        while not await sandbox.new_captures():
            await asyncio.sleep(0.1)
    settled = await service.reconcile_unknown(gateway, outcome.payment_id)
    assert settled.status == "succeeded"
    assert len(await sandbox.new_captures()) == 1


async def test_removed_method_is_deleted_at_paypal_and_cannot_be_charged(
    gateway: PayPalGateway, sandbox: SandboxControl, invoice: Invoice, method_id: int
) -> None:
    method = await PaymentMethod.objects().get(PaymentMethod.id == method_id)

    await methods.remove_payment_method(gateway, method_id, actor="customer")

    await sandbox.flush()
    method = await PaymentMethod.objects().get(PaymentMethod.id == method_id)
    assert (method.status, method.is_default) == ("deleted", False)
    [hook] = await WebhookEvent.select(WebhookEvent.status).where(
        WebhookEvent.event_type == "VAULT.PAYMENT-TOKEN.DELETED"
    )
    assert hook["status"] == "processed"
    charged = await gateway.charge_vaulted(
        vault_token=method.vault_token,
        amount=factories_money(),
        description="x",
        reference="gone",
        request_id="charge-deleted-token",
    )
    assert (charged.status, charged.failure.code if charged.failure else "") == (
        "declined",
        "PAYMENT_SOURCE_CANNOT_BE_USED",
    )


def factories_money():  # type: ignore[no-untyped-def]
    from app.money import Money

    return Money(500, "USD")
