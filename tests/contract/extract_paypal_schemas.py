"""Extract the schema shapes the contract tests need from PayPal's published OpenAPI documents.

Run once when the set of operations changes (``python tests/contract/extract_paypal_schemas.py SPEC_DIR``);
the output, ``paypal_schemas.json``, is committed so the tests run from a clean clone. Only schemas reachable
from the operations below are kept, and PayPal's prose (descriptions, titles, examples, and the prose enums
of error ``description``/``message`` fields) is dropped: the shapes stay, the documentation does not.
Source: paypal/paypal-rest-api-specifications (Apache-2.0, see paypal_schemas.LICENSE).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUTPUT = Path(__file__).with_name("paypal_schemas.json")
# spec file -> [(method, path)]: every operation the adapter calls and the sandbox serves.
OPERATIONS = {
    "checkout_orders_v2": [
        ("post", "/v2/checkout/orders"),
        ("get", "/v2/checkout/orders/{id}"),
        ("post", "/v2/checkout/orders/{id}/capture"),
    ],
    "payments_payment_v2": [
        ("get", "/v2/payments/captures/{capture_id}"),
        ("post", "/v2/payments/captures/{capture_id}/refund"),
        ("get", "/v2/payments/refunds/{refund_id}"),
    ],
    "vault_payment_tokens_v3": [
        ("post", "/v3/vault/setup-tokens"),
        ("get", "/v3/vault/setup-tokens/{id}"),
        ("post", "/v3/vault/payment-tokens"),
        ("get", "/v3/vault/payment-tokens/{id}"),
        ("delete", "/v3/vault/payment-tokens/{id}"),
    ],
    "notifications_webhooks_v1": [
        ("post", "/v1/notifications/verify-webhook-signature"),
        ("get", "/v1/notifications/webhooks-events/{event_id}"),
        ("post", "/v1/notifications/webhooks-events/{event_id}/resend"),
    ],
}
# Webhook event bodies the sandbox sends are checked against the notifications spec's event schema.
EXTRA_SCHEMAS = {"notifications_webhooks_v1": ["event"]}
ANNOTATIONS = {"description", "title", "example", "examples", "externalDocs", "deprecated"}
PROSE_PROPERTIES = {"description", "message"}


def strip(node: Any) -> Any:
    """A schema without its prose. ``properties`` maps names to schemas, so its keys are never dropped."""
    if isinstance(node, list):
        return [strip(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ANNOTATIONS or key.startswith("x-"):
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _property(name, schema) for name, schema in value.items()}
        else:
            out[key] = strip(value)
    return out


def _property(name: str, schema: Any) -> Any:
    stripped = strip(schema)
    if name in PROSE_PROPERTIES and isinstance(stripped, dict):
        stripped.pop("enum", None)  # PayPal's fixed human wording, not a shape
    return stripped


def refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            found.add(ref.rsplit("/", 1)[1])
        for value in node.values():
            found |= refs(value)
    elif isinstance(node, list):
        for item in node:
            found |= refs(item)
    return found


def _schema_of(spec: dict[str, Any], node: dict[str, Any] | None) -> Any:
    if not node:
        return None
    if "$ref" in node:  # a shared response/requestBody component
        kind, name = node["$ref"].split("/")[2:4]
        node = spec["components"][kind][name]
    content = node.get("content", {}).get("application/json")
    return strip(content["schema"]) if content and "schema" in content else None


def extract(spec_dir: Path) -> dict[str, Any]:
    documents: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for name, wanted in OPERATIONS.items():
        spec = json.loads((spec_dir / f"{name}.json").read_text())
        roots: list[Any] = []
        for method, path in wanted:
            op = spec["paths"][path][method]
            entry = {
                "document": name,
                "method": method.upper(),
                "path": path,
                "request": _schema_of(spec, op.get("requestBody")),
                "responses": {code: _schema_of(spec, response) for code, response in op["responses"].items()},
            }
            operations[op["operationId"]] = entry
            roots.append(entry)
        roots += [{"$ref": f"#/components/schemas/{extra}"} for extra in EXTRA_SCHEMAS.get(name, [])]
        all_schemas = spec["components"]["schemas"]
        keep: set[str] = set()
        pending = refs(roots)
        while pending:
            current = pending.pop()
            if current in keep:
                continue
            keep.add(current)
            pending |= refs(all_schemas[current]) - keep
        documents[name] = {"components": {"schemas": {k: strip(all_schemas[k]) for k in sorted(keep)}}}
    return {"operations": operations, "documents": documents}


if __name__ == "__main__":
    source = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/paypal-openapi")
    OUTPUT.write_text(json.dumps(extract(source), indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUTPUT}")
