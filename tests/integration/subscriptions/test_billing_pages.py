"""/account/billing and /account/invoices: the saved method and changing it, paying an overdue invoice, the
invoice list with its payment history, the invoice page and its PDF, and nobody else's invoices."""

from __future__ import annotations

from datetime import timedelta

import httpx

from app import clock
from app.billing import service as invoices
from app.billing.dunning import record_failure
from app.billing.renewals import generate_renewals
from app.money import Money
from app.payments import refunds
from app.payments.paypal import PayPalGateway
from app.settings import BillingSettings
from tables.accounts import Customer
from tables.billing import Invoice
from tables.payments import Payment, PaymentMethod
from tables.subscriptions import Subscription
from tests.integration.subscriptions.conftest import Catalog, sign_up, submit, subscribe_paid
from tests.paypal import Buyer, SandboxControl

BILLING = "/account/billing"


async def overdue_renewal(client: httpx.AsyncClient, buyer: Buyer) -> int:
    """A live subscription whose renewal charge failed: past_due, with its renewal invoice open."""
    await subscribe_paid(client, buyer)
    [sub] = await Subscription.select()
    with clock.frozen_at(sub["current_period_end"] + timedelta(minutes=1)):
        (renewal_id,) = (await generate_renewals()).invoice_ids
        await record_failure(renewal_id, actor="test", reason="INSTRUMENT_DECLINED", policy=BillingSettings())
    return int(renewal_id)


async def test_a_new_paypal_account_becomes_the_default_and_pays_the_subscription(
    client: httpx.AsyncClient, catalog: Catalog, customer: Customer, buyer: Buyer, sandbox: SandboxControl
) -> None:
    await subscribe_paid(client, buyer)
    started = await submit(client, BILLING, f"{BILLING}/method")
    maria = Buyer("maria@example.com")
    await maria.approve(started.headers["location"])

    back = await client.get(maria.last_redirect)

    assert back.headers["location"] == BILLING
    methods = await PaymentMethod.select(PaymentMethod.id, PaymentMethod.label, PaymentMethod.is_default).order_by(
        PaymentMethod.id
    )
    assert [(m["label"], m["is_default"]) for m in methods] == [
        ("PayPal j***@example.com", False),
        ("PayPal m***@example.com", True),
    ]
    [sub] = await Subscription.select(Subscription.payment_method)
    assert sub["payment_method"] == methods[1]["id"]
    page = await client.get(BILLING)
    assert 'PayPal m***@example.com <span class="badge badge-ok">pays your subscriptions' in page.text


async def test_paying_an_overdue_invoice_restores_the_subscription(
    client: httpx.AsyncClient, catalog: Catalog, customer: Customer, buyer: Buyer, sandbox: SandboxControl
) -> None:
    renewal_id = await overdue_renewal(client, buyer)
    assert (await Subscription.select(Subscription.status))[0]["status"] == "past_due"
    listing = await client.get("/account/subscriptions")
    assert "A payment is overdue" in listing.text
    page = await client.get(BILLING)
    assert f'action="{BILLING}/invoices/{renewal_id}/pay"' in page.text

    await submit(client, BILLING, f"{BILLING}/invoices/{renewal_id}/pay")

    assert (await Invoice.select(Invoice.status).where(Invoice.id == renewal_id))[0]["status"] == "paid"
    assert (await Subscription.select(Subscription.status))[0]["status"] == "active"
    assert len(await sandbox.new_captures()) == 2
    assert "Paid: thank you" in (await client.get(BILLING)).text


async def test_an_overdue_invoice_can_be_paid_through_paypal_checkout(
    client: httpx.AsyncClient, catalog: Catalog, customer: Customer, buyer: Buyer, sandbox: SandboxControl
) -> None:
    renewal_id = await overdue_renewal(client, buyer)

    started = await submit(client, BILLING, f"{BILLING}/invoices/{renewal_id}/checkout")
    await buyer.approve(started.headers["location"])
    back = await client.get(buyer.last_redirect)

    assert back.status_code == 303
    assert (await Invoice.select(Invoice.status).where(Invoice.id == renewal_id))[0]["status"] == "paid"
    assert (await Subscription.select(Subscription.status))[0]["status"] == "active"


async def test_invoices_list_history_detail_and_pdf(
    client: httpx.AsyncClient,
    catalog: Catalog,
    customer: Customer,
    buyer: Buyer,
    sandbox: SandboxControl,
    gateway: PayPalGateway,
) -> None:
    await subscribe_paid(client, buyer)
    [invoice] = await Invoice.select()
    [payment] = await Payment.select(Payment.id)
    await refunds.refund(gateway, payment["id"], Money(500, "USD"), actor="staff:1", reason="goodwill")
    await invoices.issue_credit_note(invoice["id"], 500, reason="goodwill", actor="staff:1")

    listing = await client.get("/account/invoices")

    assert invoice["number"] in listing.text
    assert 'class="history-payment"' in listing.text
    assert 'class="history-refund"' in listing.text
    assert 'class="history-credit_note"' in listing.text
    detail = await client.get(f"/account/invoices/{invoice['id']}")
    assert "$19.00" in detail.text
    assert "Ada Lovelace" in detail.text  # the customer snapshot taken at finalization
    assert "goodwill" in detail.text
    pdf = await client.get(f"/account/invoices/{invoice['id']}/pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert f'filename="receipt-{invoice["number"]}.pdf"' in pdf.headers["content-disposition"]


async def test_another_customers_invoice_is_not_found(
    client: httpx.AsyncClient,
    new_client: httpx.AsyncClient,
    catalog: Catalog,
    customer: Customer,
    buyer: Buyer,
    sandbox: SandboxControl,
) -> None:
    await subscribe_paid(client, buyer)
    [invoice] = await Invoice.select(Invoice.id, Invoice.number)
    await sign_up(new_client, "eve@example.com")

    assert (await new_client.get(f"/account/invoices/{invoice['id']}")).status_code == 404
    assert (await new_client.get(f"/account/invoices/{invoice['id']}/pdf")).status_code == 404
    listing = await new_client.get("/account/invoices")
    assert invoice["number"] not in listing.text
    assert (await client.get(f"/account/invoices/{invoice['id']}")).status_code == 200
