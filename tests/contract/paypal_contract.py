"""Validate PayPal requests and responses against the schema shapes extracted from PayPal's OpenAPI documents.

Requests are checked as OpenAPI "write" payloads (no readOnly fields), responses as "read" payloads.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from openapi_schema_validator import OAS30ReadValidator, OAS30Validator, OAS30WriteValidator

SCHEMAS = Path(__file__).with_name("paypal_schemas.json")
# verify-webhook-signature must echo the received event, whose fields PayPal's spec marks readOnly: that
# request is checked for shape without the "no readOnly fields in a request" rule.
ECHOING_REQUESTS = {"verify-webhook-signature.post"}


@cache
def _catalog() -> dict[str, Any]:
    return json.loads(SCHEMAS.read_text())  # type: ignore[no-any-return]


def operations() -> dict[str, Any]:
    return _catalog()["operations"]  # type: ignore[no-any-return]


def _errors(document: str, schema: Any, body: Any, *, request: bool, echo: bool = False) -> list[str]:
    root = {**_catalog()["documents"][document], **schema}  # components travel with the schema for $refs
    validator_class = OAS30Validator if echo else OAS30WriteValidator if request else OAS30ReadValidator
    validator = validator_class(root)
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator.iter_errors(body)]


def request_errors(operation_id: str, body: Any) -> list[str]:
    op = operations()[operation_id]
    if op["request"] is None or body is None:
        return []
    return _errors(op["document"], op["request"], body, request=True, echo=operation_id in ECHOING_REQUESTS)


def response_errors(operation_id: str, status: int, body: Any) -> list[str]:
    """Errors of ``body`` against the documented response for ``status``; an undocumented status is one."""
    op = operations()[operation_id]
    responses = op["responses"]
    key = str(status) if str(status) in responses else "default"
    if key not in responses:
        return [f"{operation_id} does not document status {status}"]
    schema = responses[key]
    if schema is None:
        return [] if body in (None, "", b"") else [f"{operation_id} {status} documents no body"]
    return _errors(op["document"], schema, body, request=False)


def event_errors(event: Any) -> list[str]:
    return _errors("notifications_webhooks_v1", {"$ref": "#/components/schemas/event"}, event, request=False)
