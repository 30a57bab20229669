"""What a customer sees of their payments (issue 10, item 2), on /account/invoices, the invoice page and its PDF
alike: money that moved and each attempt PayPal refused, once, in their words; never the payments that were
internal claims, closed unasked (a second tab), left waiting for a buyer, or cancelled on PayPal's page."""

from __future__ import annotations

import asyncio
import io
import re

import httpx
from litestar import Litestar
from pypdf import PdfReader

from app.payments.paypal import PayPalGateway
from tables.accounts import Customer
from tables.billing import Invoice
from tables.payments import Payment
from tests.integration.subscriptions.conftest import Catalog, submit, subscribe_paid
from tests.paypal import Buyer, RaceGate, SandboxControl

HISTORY_ROW = re.compile(r'<tr class="history-payment">(.*?)</tr>', re.S)
INVOICE_PAYMENT = re.compile(r'<ul class="payments">(.*?)</ul>', re.S)


def history_payments(html: str) -> list[str]:
    """The payment rows of the history table, as text."""
    return [re.sub(r"<[^>]+>|\s+", " ", row).strip() for row in HISTORY_ROW.findall(html)]


def invoice_payments(html: str) -> list[str]:
    found = INVOICE_PAYMENT.search(html)
    return [re.sub(r"<[^>]+>|\s+", " ", item).strip() for item in re.findall(r"<li>(.*?)</li>", found.group(1))] if (
        found
    ) else []  # fmt: skip


async def pdf_text(client: httpx.AsyncClient, invoice_id: int) -> str:
    response = await client.get(f"/account/invoices/{invoice_id}/pdf")
    assert response.status_code == 200, response.text
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)


def pdf_payments(text: str) -> list[str]:
    """The payment lines of the PDF: each reads "<date>: <amount> via <method>, <status>"."""
    return [line for line in text.splitlines() if " via " in line]


async def test_a_double_submit_and_two_tabs_show_one_payment_of_29_dollars(
    app: Litestar,
    client: httpx.AsyncClient,
    catalog: Catalog,
    customer: Customer,
    buyer: Buyer,
    sandbox: SandboxControl,
    portal_gateway: PayPalGateway,
) -> None:
    # "Pay $29.00 with PayPal" pressed five times; the buyer approves the last two PayPal pages, in two tabs,
    # and comes back from both at the same moment.
    tabs = [await submit(client, "/subscribe/pro-monthly", "/subscribe/pro-monthly") for _ in range(5)]
    returns, orders = [], []
    for tab in tabs[-2:]:
        orders.append((await buyer.approve(tab.headers["location"]))["token"])
        returns.append(buyer.last_redirect)
    app.state.gateway = RaceGate(portal_gateway, orders=orders)
    backs = await asyncio.gather(*(client.get(url) for url in returns))
    assert [b.status_code for b in backs] == [303, 303]

    # The staff record keeps every attempt: one capture, one closed unasked, three never approved.
    assert len(await sandbox.new_captures()) == 1
    staff = await Payment.select(Payment.status, Payment.failure_code).order_by(Payment.id)
    assert sorted((p["status"], p["failure_code"]) for p in staff) == [
        ("failed", "SUPERSEDED"), ("pending", ""), ("pending", ""), ("pending", ""), ("succeeded", ""),
    ]  # fmt: skip
    [invoice] = await Invoice.select(Invoice.id, Invoice.number)

    listing = (await client.get("/account/invoices")).text
    [row] = history_payments(listing)
    assert "$29.00" in row and "succeeded" in row and "PayPal j***@example.com" in row
    assert "PayPal was not asked" not in listing and "pending" not in listing
    detail = (await client.get(f"/account/invoices/{invoice['id']}")).text
    [line] = invoice_payments(detail)
    assert "$29.00 via PayPal j***@example.com, paid" in line
    text = await pdf_text(client, invoice["id"])
    assert f"Receipt {invoice['number']}" in text
    [printed] = pdf_payments(text)
    assert "$29.00 via PayPal j***@example.com, paid" in printed
    assert "not asked" not in text and "pending" not in text


async def test_cancelling_on_paypal_is_not_a_failed_payment(
    client: httpx.AsyncClient, catalog: Catalog, customer: Customer, buyer: Buyer, sandbox: SandboxControl
) -> None:
    started = await submit(client, "/subscribe/pro-monthly", "/subscribe/pro-monthly")
    await buyer.cancel(started.headers["location"])
    await client.get(buyer.last_redirect)
    assert await Payment.count().where(Payment.status == "failed") == 1  # the staff record has the attempt
    [invoice] = await Invoice.select(Invoice.id)

    listing = (await client.get("/account/invoices")).text

    assert history_payments(listing) == []
    assert "No payments yet." in listing
    assert invoice_payments((await client.get(f"/account/invoices/{invoice['id']}")).text) == []
    assert pdf_payments(await pdf_text(client, invoice["id"])) == []


async def test_a_decline_shows_once_in_the_customers_words_beside_the_payment_that_went_through(
    client: httpx.AsyncClient, catalog: Catalog, customer: Customer, sandbox: SandboxControl
) -> None:
    declined = await subscribe_paid(client, Buyer("buyer+instrument_declined@example.com"), "pro-monthly")
    assert declined.status_code == 402
    paid = await subscribe_paid(client, Buyer("jane@example.com"), "pro-monthly")
    assert paid.status_code == 303
    [refused] = await Payment.select(Payment.failure_code, Payment.failure_message).where(Payment.status == "declined")
    assert refused["failure_code"] == "INSTRUMENT_DECLINED"
    assert "debug_id" in refused["failure_message"]  # PayPal's words stay on the staff record
    [invoice] = await Invoice.select(Invoice.id)

    listing = (await client.get("/account/invoices")).text
    rows = history_payments(listing)
    detail = invoice_payments((await client.get(f"/account/invoices/{invoice['id']}")).text)
    printed = pdf_payments(await pdf_text(client, invoice["id"]))

    assert len(rows) == len(detail) == len(printed) == 2
    assert "Declined by PayPal" in rows[1] and "declined" in rows[1]  # newest first: the decline came first
    assert "succeeded" in rows[0]
    assert "declined (Declined by PayPal)" in detail[0] and "paid" in detail[1]
    assert "declined (Declined by PayPal)" in printed[0] and "paid" in printed[1]
    for page in (listing, "\n".join(detail), "\n".join(printed)):
        assert "instrument" not in page.lower() and "debug_id" not in page
