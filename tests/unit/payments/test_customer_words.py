"""Every gateway outcome has a customer sentence and a page status (app/payments/customer.py), and none of
them carries PayPal's own words."""

from __future__ import annotations

import json

import pytest
import requests
from paypalhttp import HttpError

from app.payments import customer
from app.payments.customer import PaymentProblem, problem_for
from app.payments.gateway import FailureCategory
from app.payments.paypal import DECLINE_ISSUES, UnreadableAnswer, classify

PROBLEMS = [customer.DECLINED, customer.PAYER_ACTION, customer.METHOD_UNUSABLE, customer.UNAVAILABLE,
            customer.NOT_APPROVED, customer.REFUSED]  # fmt: skip


def paypal_error(status: int, issue: str) -> HttpError:
    body = {"name": "UNPROCESSABLE_ENTITY", "message": "x", "debug_id": "b5e81f00",
            "details": [{"issue": issue, "description": "The instrument presented was declined."}]}  # fmt: skip
    return HttpError(json.dumps(body), status, {})


@pytest.mark.parametrize("issue", sorted(DECLINE_ISSUES))
def test_every_decline_is_a_402_in_the_customers_words(issue: str) -> None:
    failure = classify(paypal_error(422, issue))
    problem = problem_for(failure.category, failure.code)

    assert failure.category == FailureCategory.DECLINED
    assert "debug_id b5e81f00" in failure.message  # PayPal's words stay on the staff record
    assert problem.status == 402
    assert issue not in problem.sentence and "instrument" not in problem.sentence.lower()


@pytest.mark.parametrize(
    "exc",
    [
        requests.ConnectionError("HTTPConnectionPool(host='127.0.0.1', port=1): Connection refused"),
        requests.ReadTimeout("Read timed out"),
        paypal_error(500, "INTERNAL_SERVER_ERROR"),
        paypal_error(503, "SERVICE_UNAVAILABLE"),
        paypal_error(429, "RATE_LIMIT_REACHED"),
        UnreadableAnswer("JSONDecodeError: Expecting value"),
    ],
    ids=["refused", "timeout", "500", "503", "429", "garbage"],
)
def test_paypal_not_answering_is_a_503_saying_nothing_was_charged(exc: Exception) -> None:
    failure = classify(exc)
    error = PaymentProblem.of(failure.category, failure.code)

    assert (error.status, error.code) == (503, "paypal_unavailable")
    assert error.detail == "PayPal is not answering; nothing was charged; try again in a minute."
    assert error.headers == {"Retry-After": "60"}


def test_a_request_paypal_refuses_is_a_502_and_an_unapproved_one_a_409() -> None:
    refused = classify(paypal_error(400, "INVALID_PARAMETER_VALUE"))
    unapproved = classify(paypal_error(422, "SETUP_TOKEN_NOT_APPROVED"))

    assert problem_for(refused.category, refused.code) is customer.REFUSED
    assert problem_for(unapproved.category, unapproved.code) is customer.NOT_APPROVED
    assert (customer.REFUSED.status, customer.NOT_APPROVED.status) == (502, 409)


def test_the_sentences_speak_to_the_customer() -> None:
    for problem in PROBLEMS:
        assert problem.sentence.endswith(".") and problem.past
        assert not any(word in problem.sentence + problem.past for word in ("debug", "_", "HTTP", "Error"))
    assert len({p.code for p in PROBLEMS}) == len(PROBLEMS)
