"""PayPal's JSON representations of the sandbox's resources, with their HATEOAS links."""

from __future__ import annotations

from typing import Any

from app.payments.sandbox.store import Capture, Order, Payer, PaymentToken, Refund, SetupToken, amount_json


def link(href: str, rel: str, method: str = "GET") -> dict[str, str]:
    return {"href": href, "rel": rel, "method": method}


class Shapes:
    def __init__(self, public_url: str) -> None:
        self.api = public_url.rstrip("/")
        self.web = self.api  # one server plays both api-m.paypal.com and www.paypal.com

    def approve_url(self, order: Order) -> str:
        return f"{self.web}/checkoutnow?token={order.id}"

    def vault_approve_url(self, token: SetupToken) -> str:
        return f"{self.web}/agreements/approve?approval_session_id={token.id}"

    def payer(self, payer: Payer) -> dict[str, Any]:
        return {
            "name": {"given_name": payer.given_name, "surname": payer.surname},
            "email_address": payer.email,
            "payer_id": payer.payer_id,
        }

    def _wallet(self, order: Order) -> dict[str, Any]:
        if order.payer is None:
            return {}
        wallet: dict[str, Any] = {
            "email_address": order.payer.email,
            "account_id": order.payer.payer_id,
            "account_status": "VERIFIED",
            "name": {"given_name": order.payer.given_name, "surname": order.payer.surname},
        }
        if order.vault_id:
            wallet["attributes"] = {
                "vault": {
                    "id": order.vault_id,
                    "status": "VAULTED",
                    "customer": {"id": order.payer.customer_id},
                    "links": [link(f"{self.api}/v3/vault/payment-tokens/{order.vault_id}", "self")],
                }
            }
        return wallet

    def order_links(self, order: Order) -> list[dict[str, str]]:
        links = [link(f"{self.api}/v2/checkout/orders/{order.id}", "self")]
        if order.status == "PAYER_ACTION_REQUIRED":
            links.append(link(self.approve_url(order), "payer-action"))
        elif order.status == "CREATED":
            links.append(link(self.approve_url(order), "approve"))
        elif order.status == "APPROVED":
            links.append(link(f"{self.api}/v2/checkout/orders/{order.id}/capture", "capture", "POST"))
        return links

    def order(self, order: Order, captures: list[Capture], *, full: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"id": order.id, "status": order.status}
        if order.return_url or order.vault_id:
            body["payment_source"] = {"paypal": self._wallet(order)}
        if full:
            unit = {
                k: v
                for k, v in order.purchase_unit.items()
                if k in {"reference_id", "description", "custom_id", "invoice_id"}
            }
            unit["amount"] = amount_json(order.amount)
            if captures:
                unit["payments"] = {"captures": [self.capture(c) for c in captures]}
            body.update(
                {
                    "intent": "CAPTURE",
                    "purchase_units": [unit],
                    "create_time": order.create_time,
                    "update_time": order.update_time,
                }
            )
            if order.payer is not None:
                body["payer"] = self.payer(order.payer)
        body["links"] = self.order_links(order)
        return body

    def capture(self, capture: Capture, *, related: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": capture.id,
            "status": capture.status,
            "amount": amount_json(capture.amount),
            "final_capture": True,
            "seller_protection": {
                "status": "ELIGIBLE",
                "dispute_categories": ["ITEM_NOT_RECEIVED", "UNAUTHORIZED_TRANSACTION"],
            },
            "create_time": capture.create_time,
            "update_time": capture.update_time,
            "links": [
                link(f"{self.api}/v2/payments/captures/{capture.id}", "self"),
                link(f"{self.api}/v2/payments/captures/{capture.id}/refund", "refund", "POST"),
                link(f"{self.api}/v2/checkout/orders/{capture.order_id}", "up"),
            ],
        }
        for key in ("invoice_id", "custom_id"):
            if getattr(capture, key):
                body[key] = getattr(capture, key)
        if related:  # webhook resources and GET captures name their order
            body["supplementary_data"] = {"related_ids": {"order_id": capture.order_id}}
        return body

    def refund(self, refund: Refund, *, full: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {"id": refund.id, "status": refund.status}
        if full:
            body.update(
                {
                    "amount": amount_json(refund.amount),
                    "create_time": refund.create_time,
                    "update_time": refund.create_time,
                }
            )
            if refund.note_to_payer:
                body["note_to_payer"] = refund.note_to_payer
        body["links"] = [
            link(f"{self.api}/v2/payments/refunds/{refund.id}", "self"),
            link(f"{self.api}/v2/payments/captures/{refund.capture_id}", "up"),
        ]
        return body

    def setup_token(self, token: SetupToken) -> dict[str, Any]:
        paypal: dict[str, Any] = {"usage_type": "MERCHANT", "customer_type": "CONSUMER"}
        body: dict[str, Any] = {"id": token.id, "status": token.status}
        if token.payer is not None:
            paypal.update({"email_address": token.payer.email, "payer_id": token.payer.payer_id})
            body["customer"] = {"id": token.payer.customer_id}
        body["payment_source"] = {"paypal": paypal}
        links = [link(f"{self.api}/v3/vault/setup-tokens/{token.id}", "self")]
        if token.status == "PAYER_ACTION_REQUIRED":
            links.insert(0, link(self.vault_approve_url(token), "approve"))
        body["links"] = links
        return body

    def payment_token(self, token: PaymentToken, order_id: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": token.id,
            "customer": {"id": token.payer.customer_id},
            "payment_source": {
                "paypal": {
                    "usage_type": "MERCHANT",
                    "customer_type": "CONSUMER",
                    "email_address": token.payer.email,
                    "payer_id": token.payer.payer_id,
                    "name": {"given_name": token.payer.given_name, "surname": token.payer.surname},
                }
            },
            "links": [
                link(f"{self.api}/v3/vault/payment-tokens/{token.id}", "self"),
                link(f"{self.api}/v3/vault/payment-tokens/{token.id}", "delete", "DELETE"),
            ],
        }
        if order_id:  # the vault was made during an order: PayPal's webhook names it
            body["metadata"] = {"order_id": order_id}
        return body
