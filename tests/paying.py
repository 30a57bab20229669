"""A paying customer for the staff tests: a PayPal account saved through a sandbox's vault and a month's invoice
paid with it (captured by that sandbox), so refunds and retries staff make move money there."""

from __future__ import annotations

from dataclasses import dataclass

from app import clock
from app.billing import service as invoices
from app.billing.charger import InvoiceCharger
from app.billing.lines import subscription_line
from app.billing.periods import Interval, first_period
from app.payments.gateway import PaymentGateway
from app.settings import get_settings
from app.subscriptions.service import plan_terms
from tables.billing import Invoice
from tables.subscriptions import Subscription
from tests import factories
from tests.paypal import SandboxControl


@dataclass(frozen=True, slots=True)
class Paying:
    subscription: Subscription
    method_id: int
    invoice_id: int
    payment_id: int


async def paying_customer(
    gateway: PaymentGateway, sandbox: SandboxControl, customer_id: int, payer_email: str, *, amount_minor: int = 1900
) -> Paying:
    """``customer_id`` on a monthly "Plus" plan since now, its first month paid by the PayPal account of
    ``payer_email`` (vaulted and captured in ``sandbox``, which ``gateway`` reaches)."""
    plan = await factories.plan(name="Plus", amount_minor=amount_minor)
    [token] = await sandbox.vault(payer_email)
    method = await factories.payment_method(token, customer=customer_id)
    period = first_period(clock.now(), Interval.of("month"))
    sub = await factories.subscription(customer=customer_id, plan=plan.id, payment_method=method.id,
                                       current_period_start=period.start, current_period_end=period.end,
                                       billing_anchor=period.start)  # fmt: skip
    invoice_id = await invoices.create_draft(
        customer_id, plan.currency, [subscription_line(await plan_terms(plan.id), period)], subscription_id=sub.id,
        billing_reason=Invoice.BillingReason.subscription_cycle, period=period,
    )  # fmt: skip
    await invoices.finalize(invoice_id, actor="system", at=period.start)
    attempt = await InvoiceCharger(gateway, get_settings().billing).retry_now(invoice_id)
    assert attempt.payment is not None and attempt.payment.status == "succeeded", attempt
    return Paying(sub, method.id, invoice_id, attempt.payment.payment_id)
