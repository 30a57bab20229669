"""Refusals of the billing and subscription rules, each with a stable code the portal and the API show."""

from __future__ import annotations

from app.errors import Conflict, InvalidInput


class IllegalTransition(Conflict):
    code = "illegal_transition"


class ConcurrentChange(Conflict):
    """Someone else moved the row between our read and our write: re-read and decide again."""

    code = "concurrent_change"


class InvoiceFinalized(Conflict):
    code = "invoice_finalized"


class InvoiceEmpty(InvalidInput):
    code = "invoice_empty"


class CreditExceedsInvoice(InvalidInput):
    code = "credit_exceeds_invoice"


class CurrencyMismatch(InvalidInput):
    code = "currency_mismatch"


class PlanUnchanged(InvalidInput):
    code = "plan_unchanged"


class OutsidePeriod(InvalidInput):
    code = "outside_period"


class ClockBackwards(InvalidInput):
    code = "clock_backwards"


class NotATestCustomer(Conflict):
    """Only test customers (made on a test clock) live on a clock's time: real ones pay real money."""

    code = "not_a_test_customer"
