"""Request classes for the PayPal endpoints paypal-checkout-serversdk lacks, in the SDK's own style: an object
with ``verb``, ``path``, ``headers`` and ``body`` that ``PayPalHttpClient.execute`` runs. Only the PayPal
adapter imports this module."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote


class _JsonRequest:
    def __init__(self, verb: str, path: str, body: dict[str, Any] | None = None) -> None:
        self.verb = verb
        self.path = path
        self.headers: dict[str, str] = {"Content-Type": "application/json"}
        self.body = body

    def pay_pal_request_id(self, request_id: str) -> None:
        self.headers["PayPal-Request-Id"] = request_id


class SetupTokensCreateRequest(_JsonRequest):
    """POST /v3/vault/setup-tokens: start saving a payment method without a purchase."""

    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__("POST", "/v3/vault/setup-tokens?", body)


class PaymentTokensCreateRequest(_JsonRequest):
    """POST /v3/vault/payment-tokens: turn an approved setup token into a reusable payment token."""

    def __init__(self, setup_token: str) -> None:
        super().__init__(
            "POST",
            "/v3/vault/payment-tokens?",
            {"payment_source": {"token": {"id": setup_token, "type": "SETUP_TOKEN"}}},
        )


class PaymentTokensDeleteRequest(_JsonRequest):
    def __init__(self, token_id: str) -> None:
        super().__init__("DELETE", f"/v3/vault/payment-tokens/{quote(token_id)}?")


class VerifyWebhookSignatureRequest(_JsonRequest):
    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__("POST", "/v1/notifications/verify-webhook-signature?", body)
