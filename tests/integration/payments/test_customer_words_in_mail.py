"""The payment-failed e-mail says why in the customer's words (issue 10, item 3): PayPal's issue, message and
debug id, which dunning records as the failure's reason for staff, never reach the customer's inbox."""

from __future__ import annotations

import pytest

from app.billing import mails
from app.settings import Settings
from tables.billing import Invoice
from tables.payments import Payment
from tests import factories

RAW = "The instrument presented was declined. (debug_id b5e81f00)"


async def refused_attempt(invoice: Invoice, key: str, status: str, code: str) -> None:
    await Payment.insert(
        Payment(invoice=invoice.id, customer=invoice.customer, kind=Payment.Kind.vaulted, amount_minor=1250,
                currency="USD", status=status, idempotency_key=key, failure_category="declined", failure_code=code,
                failure_message=RAW)
    )  # fmt: skip


@pytest.mark.parametrize(
    ("code", "words"),
    [("INSTRUMENT_DECLINED", "Declined by PayPal"), ("PAYMENT_SOURCE_CANNOT_BE_USED", "could not be charged")],
)
async def test_the_payment_failed_mail_gives_the_customers_reading_of_the_latest_refusal(
    settings: Settings, code: str, words: str
) -> None:
    invoice = await factories.invoice(status=Invoice.Status.open, number="INV-2026-000042", total_minor=1250)
    await refused_attempt(invoice, "earlier", "declined", "PAYER_ACTION_REQUIRED")
    await refused_attempt(invoice, "latest", "declined", code)

    mail = await mails.payment_failed(settings, {"invoice_id": invoice.id, "reason": RAW})

    assert mail is not None
    for body in (mail.text, mail.html or ""):
        assert words in body
        assert "instrument" not in body.lower() and "debug_id" not in body and code not in body


async def test_without_a_refused_attempt_the_mail_gives_no_reason(settings: Settings) -> None:
    invoice = await factories.invoice(status=Invoice.Status.open, number="INV-2026-000043", total_minor=1250)

    mail = await mails.payment_failed(
        settings, {"invoice_id": invoice.id, "reason": "customer 7 has no usable payment method"}
    )

    assert mail is not None
    assert "customer 7" not in mail.text and "INV-2026-000043." in mail.text
