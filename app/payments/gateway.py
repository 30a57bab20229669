"""The payment gateway in Recurra's own terms. Billing sees only this Protocol and these dataclasses, never
an SDK type. ``app/payments/paypal.py`` implements it over paypal-checkout-serversdk.

Every call that can move money takes ``request_id``: the idempotency key (PayPal-Request-Id) that the caller
stored on its payment row *before* calling. Calling again with the same key returns the first outcome and
never charges twice, which is how an UNKNOWN outcome (timeout, connection lost) is reconciled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from app.money import Money


class ChargeStatus(StrEnum):
    SUCCEEDED = "succeeded"  # money captured
    PENDING = "pending"  # accepted, not final yet (a webhook will tell)
    DECLINED = "declined"  # refused; see failure_category and failure_code
    UNKNOWN = "unknown"  # may or may not have happened: reconcile with the same request_id, never a new one


class FailureCategory(StrEnum):
    DECLINED = "declined"  # the payer's instrument said no: INSTRUMENT_DECLINED, PAYER_ACTION_REQUIRED, ...
    RETRYABLE = "retryable"  # 5xx, 429, timeouts: try again later with the same request_id
    INVALID_REQUEST = "invalid_request"  # our request was wrong: a bug or bad data; retrying will not help


@dataclass(frozen=True, slots=True)
class Failure:
    category: FailureCategory
    code: str  # the gateway's issue code, e.g. INSTRUMENT_DECLINED
    message: str


@dataclass(frozen=True, slots=True)
class CheckoutSession:
    """A purchase the buyer must approve at ``approve_url`` before it can be captured."""

    order_id: str
    approve_url: str


@dataclass(frozen=True, slots=True)
class ChargeResult:
    status: ChargeStatus
    order_id: str | None = None
    capture_id: str | None = None
    amount: Money | None = None
    vault_token: str | None = None  # set when the payer's method was saved for later charges
    payer_id: str | None = None
    payer_email: str | None = None
    failure: Failure | None = None


@dataclass(frozen=True, slots=True)
class VaultSetup:
    """Saving a payment method without a purchase (trials): the payer approves at ``approve_url``."""

    setup_token: str
    approve_url: str


@dataclass(frozen=True, slots=True)
class VaultedMethod:
    vault_token: str
    payer_id: str
    payer_email: str
    label: str  # masked, safe to show: "PayPal j***@example.com"


@dataclass(frozen=True, slots=True)
class RefundResult:
    status: ChargeStatus
    refund_id: str | None = None
    amount: Money | None = None
    failure: Failure | None = None


@dataclass(frozen=True, slots=True)
class WebhookNotification:
    """A verified gateway event: ``event_id`` is unique per gateway and deduplicates deliveries."""

    event_id: str
    event_type: str  # e.g. PAYMENT.CAPTURE.COMPLETED
    resource: Mapping[str, Any] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict)


class GatewayError(Exception):
    """A call that failed before any outcome could be known for a money-moving request is still UNKNOWN;
    this is raised only for calls that move no money (vault set-up, token deletion) or invalid requests."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(f"{failure.category}: {failure.code}: {failure.message}")
        self.failure = failure


class InvalidWebhook(Exception):
    """The webhook's signature did not verify, or its body is not an event: store nothing, answer 400."""


class PaymentGateway(Protocol):
    async def start_checkout(
        self, *, amount: Money, description: str, reference: str, return_url: str, cancel_url: str, request_id: str
    ) -> CheckoutSession:
        """Create an order to be approved by the buyer; the payer's method is vaulted on success."""
        ...

    async def capture_checkout(self, order_id: str, *, request_id: str) -> ChargeResult:
        """Capture an approved order."""
        ...

    async def start_vault_setup(self, *, return_url: str, cancel_url: str, request_id: str) -> VaultSetup: ...

    async def complete_vault_setup(self, setup_token: str, *, request_id: str) -> VaultedMethod: ...

    async def charge_vaulted(
        self, *, vault_token: str, amount: Money, description: str, reference: str, request_id: str
    ) -> ChargeResult:
        """A merchant-initiated charge of a saved method, captured at once."""
        ...

    async def refund(self, capture_id: str, amount: Money | None, *, request_id: str, note: str) -> RefundResult:
        """Refund a capture in full (``amount=None``) or in part."""
        ...

    async def delete_vaulted(self, vault_token: str) -> None: ...

    async def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookNotification:
        """Verify a webhook delivery's signature with the gateway and parse it, or raise InvalidWebhook."""
        ...
