"""Staff actions on invoices (admin forms, Billing group): retry a payment now, void or write off, a goodwill
credit without a refund, resend a receipt. ("Refund a payment" is in app/admin_billing.py.)

Each calls the code the billing run, the portal and the worker use: the charger that collects invoices, the
invoice lifecycle, credit notes, the receipt e-mail (retry, credit and resend through ``app.billing.staff_actions``,
which the support console's ticket panel runs too). Money actions: billing staff and superusers; resending a
receipt: support too.
"""

from __future__ import annotations

from typing import Literal

from piccolo_admin.endpoints import FormConfig
from pydantic import BaseModel, Field
from starlette.requests import Request

from app.admin_actions import StaffRequest, explained, form_group
from app.admin_permissions import StaffAction, require_action
from app.audit.service import record_audit
from app.billing import adjustments, staff_actions
from app.billing.staff_actions import Kind

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
    with explained():
        done = await staff_actions.retry_payment(staff.means(), data.invoice_id, actor=staff.who)
    await staff.audit(done)
    return done.message


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
    with explained():
        amount = await staff_actions.amount_for(Kind.goodwill_credit, data.invoice_id, data.amount)
        done = await staff_actions.goodwill_credit(data.invoice_id, amount, actor=staff.who, reason=data.reason)
    await staff.audit(done)
    return done.message


async def resend_receipt(request: Request, data: InvoiceForm) -> str:
    await require_action(request, StaffAction.receipts)
    staff = StaffRequest.of(request)
    with explained():
        done = await staff_actions.resend_receipt(staff.means(), data.invoice_id)
    await staff.audit(done)
    return done.message


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
