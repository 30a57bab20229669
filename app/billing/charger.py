"""The charger the billing run calls for each open invoice (``ctx["charge_invoice"]``): one attempt through
the payments service, then what its outcome means for the invoice and the subscription.

- The attempt's idempotency key is ``invoice-{id}-attempt-{n}-{random}`` (n = attempts already counted + 1),
  stored with the payment row before PayPal is called. A worker killed at any point re-runs attempt n, finds
  that payment by its key's prefix and resumes it with the same key (PayPal replays its first answer): never a
  new charge. The random tail keeps keys unique across databases (ids restart; PayPal remembers keys).
- SUCCEEDED: the invoice is settled (``settle_open_invoice``: once, whoever hears it first; the
  ``payment.succeeded`` event does the same for payments settled by webhook).
- DECLINED / FAILED, or no usable payment method: a failed attempt for dunning (``app.billing.dunning``).
- A subscription's first invoice while it is ``incomplete`` is never charged here: the buyer pays it at
  checkout, or it lapses after 23 hours.
- UNKNOWN / PENDING: nothing is counted. The lease on the invoice runs out and the next collection repeats the
  same attempt (same key), which is reconciliation; ``reconcile_payments`` asks PayPal meanwhile too.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app import clock
from app.billing import dunning
from app.errors import Conflict, InvalidInput, NotFound
from app.payments import service as payments
from app.payments.gateway import PaymentGateway
from app.settings import BillingSettings
from app.subscriptions.settlement import settle_open_invoice
from tables.billing import Invoice
from tables.payments import Payment
from tables.subscriptions import Subscription

log = logging.getLogger("recurra.billing.charger")
ACTOR = "system:billing"
FAILED = {Payment.Status.declined, Payment.Status.failed}


def attempt_prefix(invoice_id: int, attempt: int) -> str:
    return f"invoice-{invoice_id}-attempt-{attempt}-"


async def attempt_key(invoice_id: int, attempt: int) -> str:
    """The key of this attempt's payment if it was already started (a crash, a replayed job), else a new one."""
    prefix = attempt_prefix(invoice_id, attempt)
    started = (
        await Payment.select(Payment.idempotency_key)
        .where((Payment.invoice == invoice_id) & Payment.idempotency_key.like(prefix + "%"))
        .first()
    )
    return str(started["idempotency_key"]) if started else prefix + uuid.uuid4().hex[:16]


class InvoiceCharger:
    """``await charger(invoice_id)``: charge one open invoice once; safe to call again for the same attempt."""

    def __init__(self, gateway: PaymentGateway, policy: BillingSettings, *, actor: str = ACTOR) -> None:
        self.gateway = gateway
        self.policy = policy
        self.actor = actor

    async def __call__(self, invoice_id: int) -> None:
        invoice = await _invoice(invoice_id)
        if invoice is None or invoice["status"] != Invoice.Status.open:
            return
        if invoice["subscription.status"] == Subscription.Status.incomplete:
            # A first invoice is paid by its buyer at checkout, or lapses with its subscription: never
            # collected automatically (DESIGN.md section 3), so it leaves the collection for good.
            await Invoice.update({Invoice.next_payment_attempt_at: None}).where(
                (Invoice.id == invoice_id) & (Invoice.status == Invoice.Status.open)
            )
            return
        try:
            await self._attempt(invoice_id, invoice)
        except Conflict:  # paid or closed meanwhile, or another payment (a checkout) holds it: nothing to collect now
            return

    async def retry_now(self, invoice_id: int) -> Attempt:
        """Staff's "retry now": the attempt the collection would make next, made at once, with its outcome. A
        failure counts for dunning like any attempt. Refusals (nothing to collect, a payment under way) raise."""
        invoice = await _invoice(invoice_id)
        if invoice is None:
            raise NotFound(f"There is no invoice #{invoice_id}.", code="invoice_not_found")
        name = invoice["number"] or f"#{invoice_id}"
        if invoice["status"] != Invoice.Status.open:
            raise Conflict(f"Invoice {name} is {invoice['status']}: there is nothing to collect.",
                           code="invoice_not_open")  # fmt: skip
        if invoice["subscription.status"] == Subscription.Status.incomplete:
            raise Conflict(f"Invoice {name} is a first invoice: its buyer pays it at checkout (it is never charged "
                           "to a saved method), or it lapses with its subscription.", code="first_invoice")  # fmt: skip
        return await self._attempt(invoice_id, invoice)

    async def _attempt(self, invoice_id: int, invoice: dict[str, Any]) -> Attempt:
        at = _customer_now(invoice)
        try:
            outcome = await payments.charge_invoice(
                self.gateway,
                invoice_id,
                payment_method_id=invoice["subscription.payment_method"],
                idempotency_key=await attempt_key(invoice_id, invoice["attempt_count"] + 1),
                actor=self.actor,
            )
        except InvalidInput as exc:  # no usable payment method: a failed attempt like a decline
            retry = await dunning.record_failure(invoice_id, reason=exc.detail, policy=self.policy, actor=self.actor,
                                                 at=at)  # fmt: skip
            return Attempt(None, exc.detail, retry)
        if outcome.status == Payment.Status.succeeded:
            await settle_open_invoice(invoice_id, actor=self.actor, at=at)
        elif outcome.status in FAILED:
            reason = outcome.failure_message or outcome.failure_code or "payment declined"
            retry = await dunning.record_failure(invoice_id, reason=reason, policy=self.policy, actor=self.actor, at=at)
            return Attempt(outcome, reason, retry)
        else:
            log.info("invoice %s: payment %s is %s; reconciled later", invoice_id, outcome.payment_id, outcome.status)
        return Attempt(outcome)


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one charge attempt came to: the payment (None when there was no usable method to charge), and for a
    failure its reason and the next attempt dunning scheduled (None: none, the final action was applied)."""

    payment: payments.PaymentOutcome | None
    failure: str = ""
    next_attempt_at: datetime | None = None


async def _invoice(invoice_id: int) -> dict[str, Any] | None:
    row = (
        await Invoice.select(
            Invoice.number,
            Invoice.status,
            Invoice.attempt_count,
            Invoice.subscription.payment_method,
            Invoice.subscription.status,
            Invoice.customer._.test_clock._.frozen_time.as_alias("clock_time"),
        )
        .where(Invoice.id == invoice_id)
        .first()
    )
    return dict(row) if row else None


def _customer_now(invoice: dict[str, Any]) -> datetime:
    frozen = invoice["clock_time"]
    return clock.as_utc(frozen) if frozen is not None else clock.now()
