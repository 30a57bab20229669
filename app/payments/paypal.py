"""The PaymentGateway over paypal-checkout-serversdk: the only code that talks to PayPal (or to the bundled
sandbox, which speaks the same REST subset). SDK types never leave this module; every call runs in a worker
thread with a timeout, because the SDK is synchronous."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import anyio.to_thread
import requests
from paypalcheckoutsdk.core import PayPalEnvironment
from paypalcheckoutsdk.orders import OrdersCaptureRequest, OrdersCreateRequest, OrdersGetRequest
from paypalcheckoutsdk.payments import CapturesRefundRequest
from paypalhttp import HttpError

from app.money import Money
from app.payments.gateway import (
    ChargeResult,
    ChargeStatus,
    CheckoutSession,
    Failure,
    FailureCategory,
    GatewayError,
    InvalidWebhook,
    RefundResult,
    VaultedMethod,
    VaultSetup,
    WebhookNotification,
)
from app.payments.paypal_client import TimedPayPalClient
from app.payments.paypal_requests import (
    PaymentTokensCreateRequest,
    PaymentTokensDeleteRequest,
    SetupTokensCreateRequest,
    VerifyWebhookSignatureRequest,
)
from app.settings import PayPalSettings

T = TypeVar("T")
log = logging.getLogger("recurra.payments.paypal")
# A payer's refusal is business as usual; PayPal in trouble is worth a look; a request PayPal calls invalid is ours.
_LOG_LEVEL = {
    FailureCategory.DECLINED: logging.INFO,
    FailureCategory.RETRYABLE: logging.WARNING,
    FailureCategory.INVALID_REQUEST: logging.ERROR,
}
REPRESENTATION = "return=representation"
# 422 issues that mean "the payer's side said no": a new attempt (or the payer) can fix them, we cannot.
DECLINE_ISSUES = frozenset(
    {
        "INSTRUMENT_DECLINED",
        "PAYER_ACTION_REQUIRED",
        "PAYER_CANNOT_PAY",
        "TRANSACTION_REFUSED",
        "PAYER_ACCOUNT_RESTRICTED",
        "PAYER_ACCOUNT_LOCKED_OR_CLOSED",
        "PAYMENT_SOURCE_CANNOT_BE_USED",
        "PAYMENT_SOURCE_DECLINED_BY_PROCESSOR",
        "PAYMENT_SOURCE_INFO_CANNOT_BE_VERIFIED",
        "MAX_NUMBER_OF_PAYMENT_ATTEMPTS_EXCEEDED",
        "TRANSACTION_LIMIT_EXCEEDED",
        "REDIRECT_PAYER_FOR_ALTERNATE_FUNDING",
        "AGREEMENT_ALREADY_CANCELLED",
        "BILLING_AGREEMENT_NOT_FOUND",
        "CARD_EXPIRED",
    }
)
WEBHOOK_HEADERS = {
    "auth_algo": "paypal-auth-algo",
    "cert_url": "paypal-cert-url",
    "transmission_id": "paypal-transmission-id",
    "transmission_sig": "paypal-transmission-sig",
    "transmission_time": "paypal-transmission-time",
}


class UnreadableAnswer(Exception):
    """PayPal answered with a body that is not what its API sends (not JSON, or without the fields it always
    has): a proxy's error page, a truncated body. For a call that may move money the outcome is unknown."""


def _unreadable(exc: Exception) -> UnreadableAnswer:
    return UnreadableAnswer(f"{type(exc).__name__}: {exc}"[:500])


# What reading an answer raises when the answer is not PayPal's (json's ValueError, paypalhttp's IOError for a
# content type it cannot decode, a missing field's KeyError, ...); requests' own errors are OSErrors too and are
# told apart first.
UNREADABLE = (ValueError, OSError, KeyError, TypeError, AttributeError, IndexError)
FAILED_CALL = (HttpError, requests.RequestException, UnreadableAnswer)


def classify(exc: Exception) -> Failure:
    """Recurra's reading of a failed PayPal call."""
    if isinstance(exc, UnreadableAnswer):
        return Failure(FailureCategory.RETRYABLE, "UNREADABLE_ANSWER", f"PayPal's answer could not be read: {exc}")
    if isinstance(exc, requests.Timeout):
        return Failure(FailureCategory.RETRYABLE, "TIMEOUT", "PayPal did not answer in time")
    if isinstance(exc, requests.RequestException):
        return Failure(FailureCategory.RETRYABLE, "CONNECTION_ERROR", f"{type(exc).__name__}: {exc}"[:500])
    if not isinstance(exc, HttpError):
        raise exc
    try:
        body = json.loads(exc.message)
    except (TypeError, ValueError):
        body = {}
    body = body if isinstance(body, dict) else {}
    details = body.get("details") or [{}]
    code = details[0].get("issue") or body.get("name") or body.get("error") or f"HTTP_{exc.status_code}"
    message = details[0].get("description") or body.get("message") or body.get("error_description") or ""
    if body.get("debug_id"):
        message = f"{message} (debug_id {body['debug_id']})"
    # 409: the same PayPal-Request-Id is still being worked on (PREVIOUS_REQUEST_IN_PROGRESS): its outcome is not
    # known yet, so it is asked again later with the same id, never taken for a failure.
    if exc.status_code in (409, 429) or exc.status_code >= 500:
        category = FailureCategory.RETRYABLE
    elif exc.status_code == 422 and code in DECLINE_ISSUES:
        category = FailureCategory.DECLINED
    else:
        category = FailureCategory.INVALID_REQUEST
    return Failure(category, str(code), str(message)[:1000])


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def _link(resource: Mapping[str, Any], *rels: str) -> str:
    for link in resource.get("links", []):
        if link.get("rel") in rels:
            return str(link["href"])
    raise GatewayError(Failure(FailureCategory.INVALID_REQUEST, "NO_APPROVAL_LINK", f"no {'/'.join(rels)} link"))


def _amount(value: Mapping[str, Any] | None) -> Money | None:
    if not value:
        return None
    return Money.from_decimal_string(str(value["value"]), str(value["currency_code"]))


def _amount_json(amount: Money) -> dict[str, str]:
    return {"currency_code": amount.currency, "value": amount.to_decimal_string()}


def order_body(amount: Money, description: str, reference: str, paypal: dict[str, Any]) -> dict[str, Any]:
    """An Orders v2 create body for one purchase unit; ``reference`` (our key) comes back as custom_id."""
    unit = {"reference_id": reference[:256], "custom_id": reference[:127], "description": description[:127],
            "amount": _amount_json(amount)}  # fmt: skip
    return {"intent": "CAPTURE", "purchase_units": [unit], "payment_source": {"paypal": paypal}}


def charge_result(order: Mapping[str, Any]) -> ChargeResult:
    """Read an order after capture (or a merchant-initiated create) into Recurra's terms."""
    wallet = order.get("payment_source", {}).get("paypal", {})
    payer = order.get("payer", {})
    common: dict[str, Any] = {
        "order_id": order.get("id"),
        "payer_id": payer.get("payer_id") or wallet.get("account_id"),
        "payer_email": payer.get("email_address") or wallet.get("email_address"),
    }
    if order.get("status") == "PAYER_ACTION_REQUIRED":
        failure = Failure(FailureCategory.DECLINED, "PAYER_ACTION_REQUIRED", "The payer must approve this on PayPal")
        return ChargeResult(ChargeStatus.DECLINED, failure=failure, **common)
    captures = [c for unit in order.get("purchase_units", []) for c in unit.get("payments", {}).get("captures", [])]
    if not captures:
        return ChargeResult(ChargeStatus.PENDING, **common)
    capture = captures[-1]
    vault = wallet.get("attributes", {}).get("vault", {})
    common.update(capture_id=capture["id"], amount=_amount(capture.get("amount")))
    status = capture.get("status")
    if status in {"COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED"}:
        vault_token = vault.get("id") if vault.get("status", "VAULTED") == "VAULTED" else None
        return ChargeResult(ChargeStatus.SUCCEEDED, vault_token=vault_token, **common)
    if status == "PENDING":
        return ChargeResult(ChargeStatus.PENDING, **common)
    failure = Failure(FailureCategory.DECLINED, f"CAPTURE_{status}", "PayPal declined the capture")
    return ChargeResult(ChargeStatus.DECLINED, failure=failure, **common)


def checkout_session(order: Mapping[str, Any]) -> CheckoutSession:
    return CheckoutSession(order_id=str(order["id"]), approve_url=_link(order, "payer-action", "approve"))


def vaulted_method(token: Mapping[str, Any]) -> VaultedMethod:
    """Read a Vault v3 payment token into Recurra's terms."""
    wallet = token.get("payment_source", {}).get("paypal", {})
    email = str(wallet.get("email_address", ""))
    return VaultedMethod(
        vault_token=str(token["id"]),
        payer_id=str(wallet.get("payer_id", "")),
        payer_email=email,
        label=f"PayPal {mask_email(email)}",
    )


class PayPalGateway:
    """PaymentGateway for PayPal. ``timeout_s`` bounds every HTTP call (PayPal's or the sandbox's)."""

    def __init__(self, settings: PayPalSettings, *, brand_name: str, timeout_s: float | None = None) -> None:
        environment = PayPalEnvironment(settings.client_id, settings.client_secret, settings.api_url, settings.web_url)
        self.client = TimedPayPalClient(environment, timeout_s or settings.timeout_s)
        self.webhook_id = settings.webhook_id
        self.brand_name = brand_name

    async def _run(self, request: Any, read: Callable[[dict[str, Any]], T]) -> T:
        """Execute the request and ``read`` its answer; an answer that is not PayPal's is UnreadableAnswer."""
        try:
            response = await anyio.to_thread.run_sync(self.client.execute_authenticated, request)
        except (HttpError, requests.RequestException):
            raise
        except UNREADABLE as exc:  # the SDK could not decode the body (of this call or of its OAuth2 call)
            raise _unreadable(exc) from exc
        result = getattr(response, "result", None)
        try:
            return read(dict(result.dict()) if result is not None and hasattr(result, "dict") else {})
        except UNREADABLE as exc:
            raise _unreadable(exc) from exc

    def _failed(self, request: Any, exc: Exception) -> Failure:
        """Classify a failed call and log PayPal's own words (issue, message, debug id): they go to the staff
        record and the log, never to a customer (app.payments.customer words it for them)."""
        failure = classify(exc)
        path = str(getattr(request, "path", "")).rstrip("?")
        log.log(_LOG_LEVEL[failure.category], "PayPal %s %s failed: %s %s: %s", request.verb, path,
                failure.category.value, failure.code, failure.message)  # fmt: skip
        return failure

    async def _money(
        self,
        request: Any,
        request_id: str,
        read: Callable[[dict[str, Any]], T],
        unknown: Callable[[Failure], T],
        declined: Callable[[Failure], T],
    ) -> T:
        """A call that may move money: retryable failures, and answers that cannot be read, are UNKNOWN (ask
        again with the same id)."""
        request.headers["PayPal-Request-Id"] = request_id
        request.headers["Prefer"] = REPRESENTATION
        try:
            return await self._run(request, read)
        except FAILED_CALL as exc:
            failure = self._failed(request, exc)
        if failure.category == FailureCategory.RETRYABLE:
            return unknown(failure)
        if failure.category == FailureCategory.DECLINED:
            return declined(failure)
        raise GatewayError(failure)

    async def _plain(self, request: Any, read: Callable[[dict[str, Any]], T]) -> T:
        """A call that moves no money: any failure is a GatewayError."""
        try:
            return await self._run(request, read)
        except FAILED_CALL as exc:
            raise GatewayError(self._failed(request, exc)) from exc

    async def start_checkout(
        self, *, amount: Money, description: str, reference: str, return_url: str, cancel_url: str, request_id: str
    ) -> CheckoutSession:
        request = OrdersCreateRequest()
        request.headers["PayPal-Request-Id"] = request_id
        request.request_body(
            order_body(
                amount,
                description,
                reference,
                {
                    "experience_context": {
                        "return_url": return_url,
                        "cancel_url": cancel_url,
                        "brand_name": self.brand_name[:127],
                        "user_action": "PAY_NOW",
                        "shipping_preference": "NO_SHIPPING",
                    },
                    "attributes": {"vault": {"store_in_vault": "ON_SUCCESS", "usage_type": "MERCHANT"}},
                },
            )
        )
        return await self._plain(request, checkout_session)

    async def capture_checkout(self, order_id: str, *, request_id: str) -> ChargeResult:
        try:
            return await self._money(
                OrdersCaptureRequest(order_id),
                request_id,
                charge_result,
                lambda failure: ChargeResult(ChargeStatus.UNKNOWN, order_id=order_id, failure=failure),
                lambda failure: ChargeResult(ChargeStatus.DECLINED, order_id=order_id, failure=failure),
            )
        except GatewayError as exc:
            # Captured before under another request id (a lost key, or by hand): read what PayPal holds.
            if exc.failure.code == "ORDER_ALREADY_CAPTURED":
                return await self.get_order(order_id)
            raise

    async def get_order(self, order_id: str) -> ChargeResult:
        """Where an order stands now (used when PayPal says it was captured under another request id)."""
        return await self._plain(OrdersGetRequest(order_id), charge_result)

    async def start_vault_setup(self, *, return_url: str, cancel_url: str, request_id: str) -> VaultSetup:
        request = SetupTokensCreateRequest(
            {
                "payment_source": {
                    "paypal": {
                        "usage_type": "MERCHANT",
                        "experience_context": {
                            "return_url": return_url,
                            "cancel_url": cancel_url,
                            "brand_name": self.brand_name[:127],
                            "shipping_preference": "NO_SHIPPING",
                            "vault_instruction": "ON_PAYER_APPROVAL",
                        },
                    }
                },
            }
        )
        request.pay_pal_request_id(request_id)
        return await self._plain(
            request, lambda token: VaultSetup(setup_token=str(token["id"]), approve_url=_link(token, "approve"))
        )

    async def complete_vault_setup(self, setup_token: str, *, request_id: str) -> VaultedMethod:
        request = PaymentTokensCreateRequest(setup_token)
        request.pay_pal_request_id(request_id)
        return await self._plain(request, vaulted_method)

    async def charge_vaulted(
        self, *, vault_token: str, amount: Money, description: str, reference: str, request_id: str
    ) -> ChargeResult:
        request = OrdersCreateRequest()
        request.request_body(order_body(amount, description, reference, {"vault_id": vault_token}))
        return await self._money(
            request,
            request_id,
            charge_result,
            lambda failure: ChargeResult(ChargeStatus.UNKNOWN, failure=failure),
            lambda failure: ChargeResult(ChargeStatus.DECLINED, failure=failure),
        )

    async def refund(self, capture_id: str, amount: Money | None, *, request_id: str, note: str) -> RefundResult:
        body: dict[str, Any] = {"note_to_payer": note[:255]} if note else {}
        if amount is not None:
            body["amount"] = _amount_json(amount)
        request = CapturesRefundRequest(capture_id)
        request.request_body(body)

        def read(refund: dict[str, Any]) -> RefundResult:
            status = {"COMPLETED": ChargeStatus.SUCCEEDED, "PENDING": ChargeStatus.PENDING}.get(
                str(refund.get("status")), ChargeStatus.DECLINED
            )
            return RefundResult(status, refund_id=str(refund["id"]), amount=_amount(refund.get("amount")) or amount)

        return await self._money(
            request,
            request_id,
            read,
            lambda failure: RefundResult(ChargeStatus.UNKNOWN, failure=failure),
            lambda failure: RefundResult(ChargeStatus.DECLINED, failure=failure),
        )

    async def delete_vaulted(self, vault_token: str) -> None:
        await self._plain(PaymentTokensDeleteRequest(vault_token), lambda answer: None)

    async def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookNotification:
        lowered = {k.lower(): v for k, v in headers.items()}
        try:
            event = json.loads(body)
        except ValueError:
            raise InvalidWebhook("the body is not JSON") from None
        if not isinstance(event, dict) or not event.get("id") or not event.get("event_type"):
            raise InvalidWebhook("the body is not a PayPal event")
        missing = [header for header in WEBHOOK_HEADERS.values() if not lowered.get(header)]
        if missing:
            raise InvalidWebhook(f"missing headers: {', '.join(missing)}")
        request = VerifyWebhookSignatureRequest(
            {
                **{field: lowered[header] for field, header in WEBHOOK_HEADERS.items()},
                "webhook_id": self.webhook_id,
                "webhook_event": event,
            }
        )
        verdict = await self._plain(request, dict)
        if verdict.get("verification_status") != "SUCCESS":
            raise InvalidWebhook("PayPal did not verify the signature")
        return WebhookNotification(
            event_id=str(event["id"]),
            event_type=str(event["event_type"]),
            resource=event.get("resource") or {},
            raw=event,
        )
