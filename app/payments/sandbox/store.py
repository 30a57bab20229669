"""The sandbox's memory: payers, orders, captures, refunds, vault tokens, access tokens and replies kept for
PayPal-Request-Id. It lives in the sandbox process, as PayPal's state lives at PayPal: Recurra never reads it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app import clock
from app.money import Money
from app.payments.sandbox import ids


def timestamp(at: datetime | None = None) -> str:
    return (at or clock.now()).strftime("%Y-%m-%dT%H:%M:%SZ")


def amount_json(money: Money) -> dict[str, str]:
    return {"currency_code": money.currency, "value": money.to_decimal_string()}


@dataclass(slots=True)
class Payer:
    payer_id: str
    email: str
    given_name: str
    surname: str
    customer_id: str  # the PayPal vault customer this payer's saved methods belong to


@dataclass(slots=True)
class Order:
    id: str
    amount: Money
    purchase_unit: dict[str, Any]  # as the merchant sent it (reference_id, description, custom_id, invoice_id)
    status: str
    return_url: str = ""
    cancel_url: str = ""
    brand_name: str = ""
    store_in_vault: bool = False
    vault_id: str | None = None  # merchant-initiated: the saved method charged
    payer: Payer | None = None
    capture_ids: list[str] = field(default_factory=list)
    create_time: str = field(default_factory=timestamp)
    update_time: str = field(default_factory=timestamp)


@dataclass(slots=True)
class Capture:
    id: str
    order_id: str
    amount: Money
    status: str  # COMPLETED, DECLINED, PARTIALLY_REFUNDED, REFUNDED
    payer: Payer
    invoice_id: str | None = None
    custom_id: str | None = None
    refunded: int = 0  # minor units already refunded
    create_time: str = field(default_factory=timestamp)
    update_time: str = field(default_factory=timestamp)


@dataclass(slots=True)
class Refund:
    id: str
    capture_id: str
    amount: Money
    note_to_payer: str | None
    status: str = "COMPLETED"
    create_time: str = field(default_factory=timestamp)


@dataclass(slots=True)
class SetupToken:
    id: str
    status: str  # PAYER_ACTION_REQUIRED -> APPROVED -> (used by a payment token)
    return_url: str
    cancel_url: str
    brand_name: str
    payer: Payer | None = None
    create_time: str = field(default_factory=timestamp)


@dataclass(slots=True)
class PaymentToken:
    id: str
    payer: Payer
    create_time: str = field(default_factory=timestamp)


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: Any


class Store:
    def __init__(self) -> None:
        self.payers: dict[str, Payer] = {}  # by lower-cased e-mail
        self.orders: dict[str, Order] = {}
        self.captures: dict[str, Capture] = {}
        self.refunds: dict[str, Refund] = {}
        self.setup_tokens: dict[str, SetupToken] = {}
        self.payment_tokens: dict[str, PaymentToken] = {}
        self.access_tokens: dict[str, tuple[str, float]] = {}  # token -> (client id, monotonic expiry)
        self.replies: dict[tuple[str, str, str], Reply] = {}
        self.in_flight: set[tuple[str, str, str]] = set()  # (client, operation, PayPal-Request-Id) being worked on

    def payer(self, email: str) -> Payer:
        key = email.strip().lower()
        if key not in self.payers:
            local = key.split("@", 1)[0].split("+", 1)[0]
            self.payers[key] = Payer(
                ids.payer_id(), email.strip(), local.capitalize() or "Sandbox", "Buyer", ids.customer_id()
            )
        return self.payers[key]

    # Access tokens expire on the sandbox's own wall clock: it stands in for PayPal's servers, and a Recurra
    # test clock travelling through a billing year must not log the merchant out of PayPal.
    def issue_token(self, client_id: str, ttl_s: int) -> str:
        token = ids.access_token()
        self.access_tokens[token] = (client_id, time.monotonic() + ttl_s)
        return token

    def client_of(self, token: str) -> str | None:
        """The client a live access token was issued to; None when unknown or expired."""
        client_id, expires = self.access_tokens.get(token, ("", 0.0))
        return client_id if expires > time.monotonic() else None

    def expire_tokens(self) -> None:
        self.access_tokens.clear()

    # PayPal-Request-Id: the same id on the same operation returns the first successful reply.
    def reply_for(self, client_id: str, operation: str, request_id: str | None) -> Reply | None:
        return self.replies.get((client_id, operation, request_id)) if request_id else None

    def remember(self, client_id: str, operation: str, request_id: str | None, reply: Reply) -> None:
        if request_id and 200 <= reply.status < 300:
            self.replies[(client_id, operation, request_id)] = reply
