"""How PayPal's answers read in Recurra's terms (paypalhttp's own error type, built as the SDK builds it)."""

from __future__ import annotations

import json

import pytest
import requests
from paypalhttp import HttpError

from app.payments.gateway import ChargeStatus, FailureCategory
from app.payments.paypal import charge_result, classify, mask_email


def paypal_error(status: int, name: str, issue: str | None = None) -> HttpError:
    body: dict[str, object] = {"name": name, "message": "m", "debug_id": "abc123"}
    if issue:
        body["details"] = [{"issue": issue, "description": "d"}]
    return HttpError(json.dumps(body), status, {})


@pytest.mark.parametrize(
    ("error", "category", "code"),
    [
        (
            paypal_error(422, "UNPROCESSABLE_ENTITY", "INSTRUMENT_DECLINED"),
            FailureCategory.DECLINED,
            "INSTRUMENT_DECLINED",
        ),
        (
            paypal_error(422, "UNPROCESSABLE_ENTITY", "PAYER_ACTION_REQUIRED"),
            FailureCategory.DECLINED,
            "PAYER_ACTION_REQUIRED",
        ),
        (
            paypal_error(422, "UNPROCESSABLE_ENTITY", "ORDER_NOT_APPROVED"),
            FailureCategory.INVALID_REQUEST,
            "ORDER_NOT_APPROVED",
        ),
        (
            paypal_error(400, "INVALID_REQUEST", "MISSING_REQUIRED_PARAMETER"),
            FailureCategory.INVALID_REQUEST,
            "MISSING_REQUIRED_PARAMETER",
        ),
        (paypal_error(401, "AUTHENTICATION_FAILURE"), FailureCategory.INVALID_REQUEST, "AUTHENTICATION_FAILURE"),
        (paypal_error(429, "RATE_LIMIT_REACHED"), FailureCategory.RETRYABLE, "RATE_LIMIT_REACHED"),
        (paypal_error(500, "INTERNAL_SERVER_ERROR"), FailureCategory.RETRYABLE, "INTERNAL_SERVER_ERROR"),
        (paypal_error(503, "SERVICE_UNAVAILABLE"), FailureCategory.RETRYABLE, "SERVICE_UNAVAILABLE"),
        (HttpError("<html>bad gateway</html>", 502, {}), FailureCategory.RETRYABLE, "HTTP_502"),
        (requests.ReadTimeout("read timed out"), FailureCategory.RETRYABLE, "TIMEOUT"),
        (requests.ConnectionError("refused"), FailureCategory.RETRYABLE, "CONNECTION_ERROR"),
    ],
)
def test_classify(error: Exception, category: FailureCategory, code: str) -> None:
    failure = classify(error)
    assert (failure.category, failure.code) == (category, code)


def test_debug_id_is_kept_for_support() -> None:
    assert "abc123" in classify(paypal_error(422, "UNPROCESSABLE_ENTITY", "INSTRUMENT_DECLINED")).message


def test_declined_capture_inside_a_completed_order() -> None:
    order = {
        "id": "O1",
        "status": "COMPLETED",
        "purchase_units": [
            {
                "payments": {
                    "captures": [
                        {"id": "C1", "status": "DECLINED", "amount": {"currency_code": "USD", "value": "1.00"}}
                    ]
                }
            }
        ],
    }
    result = charge_result(order)
    assert (result.status, result.capture_id) == (ChargeStatus.DECLINED, "C1")
    assert result.failure is not None
    assert result.failure.code == "CAPTURE_DECLINED"


def test_mask_email() -> None:
    assert mask_email("jane@example.com") == "j***@example.com"
    assert mask_email("nonsense") == "***"
