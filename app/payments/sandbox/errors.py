"""PayPal's error bodies: name, message, debug_id, details[].issue and an information link."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from app.payments.sandbox import ids

ERROR_NAMES = {
    400: ("INVALID_REQUEST", "Request is not well-formed, syntactically incorrect, or violates schema."),
    401: (
        "AUTHENTICATION_FAILURE",
        "Authentication failed due to invalid authentication credentials or a missing Authorization header.",
    ),
    403: ("NOT_AUTHORIZED", "Authorization failed due to insufficient permissions."),
    404: ("RESOURCE_NOT_FOUND", "The specified resource does not exist."),
    409: ("RESOURCE_CONFLICT", "The server has detected a conflict while processing this request."),
    422: (
        "UNPROCESSABLE_ENTITY",
        "The requested action could not be performed, semantically incorrect, or failed business validation.",
    ),
    429: ("RATE_LIMIT_REACHED", "Too many requests. Blocked due to rate limiting."),
    500: ("INTERNAL_SERVER_ERROR", "An internal server error has occurred."),
    503: ("SERVICE_UNAVAILABLE", "Service Unavailable."),
}


# PayPal's words for a money call repeated (same PayPal-Request-Id) while the first is still being worked on.
IN_PROGRESS = (
    "PREVIOUS_REQUEST_IN_PROGRESS",
    "A previous request on this resource is currently in progress. Please wait for sometime and try again. It is "
    "best to space out the initial and the subsequent request(s) to avoid receiving this error.",
)


class PayPalError(Exception):
    """Raised by a sandbox handler; rendered as PayPal renders its errors."""

    def __init__(
        self,
        status: int,
        issue: str | None = None,
        description: str = "",
        field: str | None = None,
        *,
        api_doc: str = "orders/v2",
    ) -> None:
        super().__init__(f"{status} {issue or ''}".strip())
        self.api_doc = api_doc
        self.status = status
        self.issue = issue
        self.description = description
        self.field = field

    def body(self) -> dict[str, Any]:
        name, message = ERROR_NAMES.get(self.status, ERROR_NAMES[500])
        body: dict[str, Any] = {"name": name, "message": message, "debug_id": ids.debug_id()}
        if self.issue:
            detail: dict[str, Any] = {"issue": self.issue, "description": self.description or self.issue}
            if self.field:
                detail["field"] = self.field
                detail["location"] = "body"
            body["details"] = [detail]
            anchor = self.issue
        else:
            anchor = name
        body["links"] = [
            {
                "href": f"https://developer.paypal.com/docs/api/{self.api_doc}/#error-{anchor}",
                "rel": "information_link",
                "method": "GET",
            }
        ]
        return body


V = TypeVar("V")


def found(resources: Mapping[str, V], resource_id: str, *, api_doc: str = "orders/v2") -> V:
    """The resource, or PayPal's 404 with issue INVALID_RESOURCE_ID."""
    resource = resources.get(resource_id)
    if resource is None:
        raise PayPalError(404, "INVALID_RESOURCE_ID", "Specified resource ID does not exist.", api_doc=api_doc)
    return resource
