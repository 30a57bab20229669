"""What a customer is told about payments, in one place: the sentence for every gateway outcome that ends
without their payment (or saved account), and which of their payments they see at all.

PayPal's own words (issue codes, messages, debug ids) never reach a customer: they stay on the staff record
(``Payment.failure_*``, ``VaultSetup.failure_*``) and in the log. A page that called PayPal answers with the
sentence and the status here: 402 when PayPal said no to the payer's money, 503 (with Retry-After) when PayPal
is down, slow or garbled (nothing was charged: try again), 502 when PayPal refused our own request.

Of their payments a customer sees money that moved (captures, refunds), a payment PayPal has not confirmed yet
(it may have moved), and each attempt PayPal was asked for and refused, once. Internal claims (``processing``),
checkouts waiting for a buyer, attempts closed unasked (``SUPERSEDED``), attempts never sent and a cancel on
PayPal's page are the staff's business only.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus

from piccolo.columns.combination import Where
from piccolo.custom_types import Combinable

from app.errors import DomainError
from app.payments.gateway import FailureCategory
from app.payments.states import PAYER_CANCELLED, SUPERSEDED, S
from tables.payments import Payment, Refund

RETRY_AFTER_S = 60


@dataclass(frozen=True, slots=True)
class Problem:
    """How one kind of outcome reads to the customer: now, on the page (``sentence``), and later, in their
    payment history (``past``)."""

    code: str
    status: int
    sentence: str
    past: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(RETRY_AFTER_S)} if self.status == HTTPStatus.SERVICE_UNAVAILABLE else {}


DECLINED = Problem(
    "payment_declined",
    HTTPStatus.PAYMENT_REQUIRED,
    "PayPal declined the payment; try another PayPal account or payment source.",
    "Declined by PayPal",
)
PAYER_ACTION = Problem(
    "payer_action_required",
    HTTPStatus.PAYMENT_REQUIRED,
    "PayPal needs you to confirm this payment on PayPal's page; nothing was charged. Pay with PayPal to confirm it.",
    "PayPal asked you to confirm it on PayPal; nothing was charged",
)
METHOD_UNUSABLE = Problem(
    "payment_method_unusable",
    HTTPStatus.PAYMENT_REQUIRED,
    "Your saved PayPal account can no longer be charged; nothing was charged. Use another PayPal account.",
    "Your saved PayPal account could not be charged",
)
UNAVAILABLE = Problem(
    "paypal_unavailable",
    HTTPStatus.SERVICE_UNAVAILABLE,
    "PayPal is not answering; nothing was charged; try again in a minute.",
    "PayPal did not answer; nothing was charged",
)
NOT_APPROVED = Problem(
    "paypal_not_approved",
    HTTPStatus.CONFLICT,
    "PayPal has no approval from you for this yet; nothing was saved or charged. Please start again.",
    "Not approved on PayPal; nothing was charged",
)
REFUSED = Problem(
    "paypal_refused",
    HTTPStatus.BAD_GATEWAY,
    "PayPal could not take this request; nothing was charged. We have logged it: please try again later.",
    "PayPal could not take the payment; nothing was charged",
)
# Issue codes of a decline that name a cause the customer can act on; every other decline reads as DECLINED.
PAYER_ACTION_CODES = frozenset({"PAYER_ACTION_REQUIRED", "REDIRECT_PAYER_FOR_ALTERNATE_FUNDING"})
METHOD_GONE_CODES = frozenset({"AGREEMENT_ALREADY_CANCELLED", "BILLING_AGREEMENT_NOT_FOUND",
                               "PAYMENT_SOURCE_CANNOT_BE_USED"})  # fmt: skip
NOT_APPROVED_CODES = frozenset({"SETUP_TOKEN_NOT_APPROVED", "ORDER_NOT_APPROVED"})


def problem_for(category: str, code: str) -> Problem:
    """The customer's reading of a failed gateway outcome (``Failure.category`` and ``.code``, as stored on the
    payment): the one mapping every page and the history use."""
    if category == FailureCategory.DECLINED:
        if code in PAYER_ACTION_CODES:
            return PAYER_ACTION
        return METHOD_UNUSABLE if code in METHOD_GONE_CODES else DECLINED
    if category == FailureCategory.RETRYABLE:
        return UNAVAILABLE
    return NOT_APPROVED if code in NOT_APPROVED_CODES else REFUSED


class PaymentProblem(DomainError):
    """A PayPal call ended without the customer's payment or saved account. ``detail`` is the customer's
    sentence; ``status`` and ``headers`` (Retry-After when PayPal is unavailable) are what the page answers."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.sentence, code=problem.code, headers=problem.headers)
        self.status = problem.status
        self.problem = problem

    @classmethod
    def of(cls, category: str, code: str) -> PaymentProblem:
        return cls(problem_for(category, code))


def shown_payments() -> Combinable:
    """The payments a customer sees (add ``Payment.customer == ...`` or ``Payment.invoice == ...``)."""
    moved_or_maybe = Payment.status.is_in([S.succeeded, S.partially_refunded, S.refunded, S.unknown])
    # A checkout that failed without an order (PayPal never created it) was never sent; a saved-method charge
    # is created holding its invoice's claim, so a failed one was always sent.
    asked = (Payment.kind == Payment.Kind.vaulted) | Payment.gateway_order_id.is_not_null()
    refused = (Payment.status == S.declined) | ((Payment.status == S.failed) & asked)
    return moved_or_maybe | (refused & Payment.failure_code.not_in([SUPERSEDED, PAYER_CANCELLED]))


def shown_refunds() -> Where:
    """Refunds that moved money back, or that PayPal accepted and is completing."""
    return Refund.status.is_in([Refund.Status.succeeded, Refund.Status.pending])


def payment_note(status: str, category: str, code: str) -> str:
    """What a shown payment says beside its amount: nothing for money that moved (the method is named),
    a word on one not confirmed yet, and the customer's reading of a refusal."""
    if status == S.unknown:
        return "Not confirmed by PayPal yet"
    if status in (S.declined, S.failed):
        return problem_for(category, code).past
    return ""


async def latest_refusal(invoice_id: int) -> str:
    """Why the invoice's latest attempt PayPal refused did not go through, in the customer's words ("" when
    none did: e.g. there was no saved method to charge). The payment-failed e-mail says this, never PayPal."""
    row = (
        await Payment.select(Payment.status, Payment.failure_category, Payment.failure_code)
        .where(Payment.invoice == invoice_id, Payment.status.is_in([S.declined, S.failed]), shown_payments())
        .order_by(Payment.id, ascending=False)
        .first()
    )
    return payment_note(row["status"], row["failure_category"], row["failure_code"]) if row else ""
