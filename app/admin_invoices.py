"""Staff actions on invoices (admin forms, Billing group): retry a payment now, void or write off, a goodwill
credit without a refund, resend a receipt. ("Refund a payment" is in app/admin_billing.py.)

Each calls the code the billing run, the portal and the worker use: the charger that collects invoices, the
invoice lifecycle, credit notes, the receipt e-mail. Money actions: billing staff and superusers; resending a
receipt: support too.
"""

from __future__ import annotations

from typing import Literal

from piccolo_admin.endpoints import FormConfig
from pydantic import BaseModel, Field
from starlette.requests import Request

from app.admin_actions import StaffRequest, amount, explained, form_group, when
from app.admin_permissions import StaffAction, require_action
from app.audit.service import record_audit
from app.billing import adjustments, mails
from app.billing.charger import InvoiceCharger
from tables.billing import Invoice

FORM_GROUP = "Billing"
REASON = Field(min_length=1, max_length=500, description="Why: kept on the invoice's history and in the audit log.")


class InvoiceForm(BaseModel):
    invoice_id: int = Field(description="The invoice's id (Billing -> invoice).")


class CloseInvoiceForm(BaseModel):
    invoice_id: int
    action: Literal["void", "mark uncollectible"] = Field(
        description="Void: cancelled as if never issued (a past-due subscription behind only on it is active again). "
        "Mark uncollectible: written off; collection stops, the subscription stays as it is."
    )
    reason: str = REASON


class GoodwillCreditForm(BaseModel):
    invoice_id: int = Field(description="An open invoice.")
    amount: str = Field(default="", description="e.g. 5.00 in the invoice's currency; empty: all it still owes.")
    reason: str = Field(min_length=1, max_length=500, description="Shown on the credit note.")


async def retry_payment(request: Request, data: InvoiceForm) -> str:
    """The collection's next attempt, now: the customer's saved method is charged for what the invoice owes."""
    await require_action(request, StaffAction.money)
    staff = StaffRequest.of(request)
    charger = InvoiceCharger(staff.gateway, staff.settings.billing, actor=staff.who)
    with explained():
        attempt = await charger.retry_now(data.invoice_id)
    payment = attempt.payment
    await record_audit(
        "billing.payment_retried", **staff.actor, target_type="invoice", target_id=data.invoice_id,
        after={"payment_id": payment.payment_id if payment else None, "status": payment.status if payment else "",
               "failure": attempt.failure},
    )  # fmt: skip
    if payment is not None and payment.status == "succeeded":
        return f"Invoice #{data.invoice_id} is paid (payment #{payment.payment_id})."
    if attempt.failure:
        after = f"the next attempt is {when(attempt.next_attempt_at)}" if attempt.next_attempt_at else (
            "that was the last attempt: dunning's final action applies")  # fmt: skip
        return f"The charge failed: {attempt.failure}. It counts as a failed attempt; {after}."
    assert payment is not None  # noqa: S101 - no failure means PayPal was asked
    return f"Payment #{payment.payment_id} is {payment.status}: PayPal's answer is awaited and recorded when it comes."


async def close_invoice(request: Request, data: CloseInvoiceForm) -> str:
    await require_action(request, StaffAction.money)
    staff = StaffRequest.of(request)
    close = adjustments.void_invoice if data.action == "void" else adjustments.mark_uncollectible
    with explained():
        closed = await close(data.invoice_id, actor=staff.who, reason=data.reason)
    await record_audit(
        f"billing.invoice_{closed.status}", **staff.actor, target_type="invoice", target_id=data.invoice_id,
        after={"status": closed.status, "reason": data.reason, "subscription_status": closed.subscription_status},
    )  # fmt: skip
    answer = f"Invoice {closed.number} is {closed.status}; nothing more is collected for it."
    if closed.forgiven:
        answer += f" Subscription #{closed.subscription_id} was behind only on it: it is active again."
    elif closed.subscription_status:
        answer += f" Subscription #{closed.subscription_id} stays {closed.subscription_status}."
    return answer


async def credit_invoice(request: Request, data: GoodwillCreditForm) -> str:
    await require_action(request, StaffAction.money)
    staff = StaffRequest.of(request)
    invoice = await Invoice.select(Invoice.currency).where(Invoice.id == data.invoice_id).first()
    if invoice is None:
        raise ValueError(f"There is no invoice #{data.invoice_id}.")
    with explained():
        credit = await adjustments.goodwill_credit(
            data.invoice_id, amount(data.amount, invoice["currency"]), actor=staff.who, reason=data.reason
        )
    await record_audit(
        "billing.goodwill_credit", **staff.actor, target_type="invoice", target_id=data.invoice_id,
        after={"credit_note": credit.credit_note_number, "amount_minor": credit.credited.amount_minor,
               "currency": credit.credited.currency, "reason": data.reason, "settled": credit.settled},
    )  # fmt: skip
    settled = "nothing is left to pay: it is paid" if credit.settled else f"{credit.still_due.format()} is still due"
    return (
        f"Credit note {credit.credit_note_number} takes {credit.credited.format()} off invoice "
        f"{credit.invoice_number}; {settled}."
    )


async def resend_receipt(request: Request, data: InvoiceForm) -> str:
    await require_action(request, StaffAction.receipts)
    staff = StaffRequest.of(request)
    with explained():
        mail = await mails.receipt_again(staff.settings, data.invoice_id)
    await staff.send(mail)
    await record_audit("billing.receipt_resent", **staff.actor, target_type="invoice", target_id=data.invoice_id,
                       after={"to": mail.to})  # fmt: skip
    return f"The receipt is on its way to {mail.to}."


def invoice_forms() -> list[FormConfig]:
    return form_group(
        FORM_GROUP,
        ("Retry a payment now", InvoiceForm, retry_payment,
         "Charge the customer's saved PayPal account for an open invoice now, as the next dunning retry would."),
        ("Void or write off an invoice", CloseInvoiceForm, close_invoice,
         "Close an open invoice: void it, or mark it uncollectible."),
        ("Credit an invoice", GoodwillCreditForm, credit_invoice,
         "A goodwill credit note that lowers what an open invoice owes, without a refund."),
        ("Resend a receipt", InvoiceForm, resend_receipt, "E-mail the receipt of a paid invoice again."),
    )  # fmt: skip
