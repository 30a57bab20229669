"""No staff member, superuser included, writes money or lifecycle rows through the admin's table API: every
write (create, update, replace, delete, delete-all) on every money and lifecycle table is refused for every role,
and the rows stay as they were. The forgeries are the ones seen from outside: a "succeeded" $1,000 payment
without PayPal, a succeeded refund, credit note CN-FAKE-1, a draft invoice marked paid with a made-up number, a
canceled subscription made active until 2030, a saved PayPal account moved to another customer. Plan prices
(amount, currency, interval) cannot be edited either. Staff change these rows through the staff actions
(tests/integration/billing/test_staff_actions.py).

The writes are all refused, so the tests share one set of rows and one log-in per role (made once for the
module, the tables emptied at its end) instead of each test's own.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from litestar import Litestar
from piccolo.table import Table

from app.billing import service as invoices
from app.billing.lines import LineDraft
from tables.billing import CreditNote, Invoice, InvoiceEvent, InvoiceLine
from tables.catalog import Plan
from tables.clocks import TestClock
from tables.outbox import OutboxEvent
from tables.payments import Payment, PaymentEvent, PaymentMethod, Refund, WebhookEvent
from tables.subscriptions import Subscription, SubscriptionEvent
from tests import factories
from tests.conftest import truncate_all
from tests.integration.staff import staff_session, table

ROLES = ["superuser", "billing", "support", "content"]
WRITES = ["POST", "PATCH", "PUT", "DELETE", "DELETE all"]
ROW_TABLES: dict[str, type[Table]] = {
    "subscription": Subscription,
    "subscription_event": SubscriptionEvent,
    "invoice": Invoice,
    "invoice_line": InvoiceLine,
    "invoice_event": InvoiceEvent,
    "credit_note": CreditNote,
    "payment": Payment,
    "payment_event": PaymentEvent,
    "refund": Refund,
    "payment_method": PaymentMethod,
    "webhook_event": WebhookEvent,
    "outbox_event": OutboxEvent,
    "test_clock": TestClock,  # its time moves only forward, by "Advance a test clock" (which runs what falls due)
}
PRICE = {"amount_minor": 2500, "currency": "EUR", "interval": "year", "interval_count": 3}


@dataclass(frozen=True)
class Rows:
    ids: dict[str, int]  # the row each table's update/replace/delete targets
    forged: dict[str, dict[str, Any]]  # what a forger would write into it (or create)
    plans: dict[str, int]  # one with a subscriber, one without


@pytest.fixture(autouse=True)
def _isolated() -> None:
    """Instead of the per-test truncation: the module's rows are emptied once, by ``rows``."""


async def _seed() -> Rows:
    customer, other = await factories.customer(), await factories.customer()
    plan = await factories.plan(amount_minor=1900)
    sub = await factories.subscription(customer=customer.id, plan=plan.id, status="canceled")
    await SubscriptionEvent.insert(SubscriptionEvent(subscription=sub.id, event="cancel", from_status="active",
                                                     to_status="canceled", actor="system"))  # fmt: skip
    line = LineDraft(kind=InvoiceLine.Kind.subscription, description="Plus", quantity=1, unit_amount_minor=1900,
                     amount_minor=1900, currency="USD", plan_id=plan.id)  # fmt: skip
    draft = await invoices.create_draft(customer.id, "USD", [line])
    final = await invoices.create_draft(customer.id, "USD", [line])
    await invoices.finalize(final, actor="test")
    await invoices.issue_credit_note(final, 100, reason="goodwill", actor="test")
    method = await factories.payment_method("VAULT-1", customer=customer.id)
    [payment] = await Payment.insert(
        Payment(invoice=final, customer=customer.id, payment_method=method.id, amount_minor=1800, currency="USD",
                status="declined", idempotency_key="real-attempt")
    ).returning(Payment.id)  # fmt: skip
    await PaymentEvent.insert(PaymentEvent(payment=payment["id"], event="decline", from_status="processing",
                                           to_status="declined", actor="system"))  # fmt: skip
    [refund] = await Refund.insert(
        Refund(payment=payment["id"], amount_minor=100, currency="USD", status="failed", idempotency_key="refund-1",
               actor="test")
    ).returning(Refund.id)  # fmt: skip
    await WebhookEvent.insert(WebhookEvent(event_id="WH-1", event_type="PAYMENT.CAPTURE.DENIED", payload={}))
    await factories.test_clock(name="Staging")
    ids = {name: int((await t.select(t.id).order_by(t.id).first() or {})["id"]) for name, t in ROW_TABLES.items()}
    ids |= {"invoice": draft, "payment": payment["id"], "refund": refund["id"], "payment_method": method.id}
    [final_line] = await InvoiceLine.select(InvoiceLine.id).where(InvoiceLine.invoice == final)
    ids["invoice_line"] = final_line["id"]
    trail = {"event": "pay", "from_status": "open", "to_status": "paid", "actor": "staff", "reason": "forged"}
    forged: dict[str, dict[str, Any]] = {
        "subscription": {"customer": customer.id, "plan": plan.id, "status": "active",
                         "current_period_start": "2026-01-01T00:00:00+00:00",
                         "current_period_end": "2030-01-01T00:00:00+00:00",
                         "billing_anchor": "2026-01-01T00:00:00+00:00"},
        "subscription_event": {"subscription": sub.id, **trail, "from_status": "canceled", "to_status": "active"},
        "invoice": {"customer": customer.id, "currency": "USD", "status": "paid", "number": "INV-FAKE-1",
                    "total_minor": 1900, "amount_paid_minor": 1900},
        "invoice_line": {"invoice": final, "description": "Extra", "unit_amount_minor": 5000, "amount_minor": 5000},
        "invoice_event": {"invoice": final, **trail},
        "credit_note": {"invoice": final, "number": "CN-FAKE-1", "amount_minor": 1800, "currency": "USD"},
        "payment": {"invoice": final, "customer": customer.id, "amount_minor": 100000, "currency": "USD",
                    "status": "succeeded", "idempotency_key": "forged-payment"},
        "payment_event": {"payment": payment["id"], **trail, "from_status": "declined", "to_status": "succeeded"},
        "refund": {"payment": payment["id"], "amount_minor": 1800, "currency": "USD", "status": "succeeded",
                   "idempotency_key": "forged-refund", "actor": "staff"},
        "payment_method": {"customer": other.id, "vault_token": "VAULT-FORGED", "label": "PayPal f***@example.com"},
        "webhook_event": {"event_id": "WH-FORGED", "event_type": "PAYMENT.CAPTURE.COMPLETED", "status": "processed"},
        "outbox_event": {"event_type": "payment.succeeded", "aggregate_type": "payment",
                         "aggregate_id": str(payment["id"]), "payload": json.dumps({"invoice_id": final})},
        "test_clock": {"name": "Rewound", "frozen_time": "2020-01-01T00:00:00+00:00"},
    }  # fmt: skip
    return Rows(ids, forged, {"subscribed": plan.id, "unused": (await factories.plan()).id})


@pytest.fixture(scope="module")
async def rows(client: httpx.AsyncClient) -> AsyncIterator[Rows]:
    await truncate_all()  # whatever an earlier test left
    yield await _seed()
    await truncate_all()


@pytest.fixture(scope="module")
async def staff(app: Litestar, rows: Rows) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    """One logged-in staff client per role for the whole module."""
    async with AsyncExitStack() as stack:
        yield {role: await stack.enter_async_context(staff_session(app, role)) for role in ROLES}


async def _snapshot(model: type[Table]) -> list[dict[str, Any]]:
    return list(await model.select().order_by(model._meta.primary_key))


async def _write(http: httpx.AsyncClient, write: str, name: str, rows: Rows) -> httpx.Response:
    row_id, forged = rows.ids[name], rows.forged[name]
    if write == "POST":
        blank = (await http.get(table(name) + "new/")).json()
        return await http.post(table(name), json={**blank, **forged})
    if write == "PATCH":
        return await http.patch(table(name, row_id), json=forged)
    if write == "PUT":
        current = (await http.get(table(name, row_id))).json()
        return await http.put(table(name, row_id), json={**current, **forged})
    if write == "DELETE":
        return await http.delete(table(name, row_id))
    return await http.delete(table(name))


@pytest.mark.parametrize("write", WRITES)
@pytest.mark.parametrize("name", list(ROW_TABLES))
@pytest.mark.parametrize("role", ROLES)
async def test_no_role_writes_money_or_lifecycle_rows(
    role: str, name: str, write: str, staff: dict[str, httpx.AsyncClient], rows: Rows
) -> None:
    model = ROW_TABLES[name]
    before = await _snapshot(model)
    response = await _write(staff[role], write, name, rows)
    refused = {403, 405}
    if name == "invoice_line" and role in ("superuser", "billing") and write in ("POST", "PATCH", "DELETE"):
        # Lines of drafts stay editable for these roles; a finalized invoice's lines are refused by its state
        # (409, "correct it with a credit note"), not by the role.
        refused = {409}
    assert response.status_code in refused, response.text
    assert await _snapshot(model) == before


@pytest.mark.parametrize("plan", ["subscribed", "unused"])
@pytest.mark.parametrize("column", list(PRICE))
@pytest.mark.parametrize("role", ROLES)
async def test_no_role_edits_a_plans_price(
    role: str, column: str, plan: str, staff: dict[str, httpx.AsyncClient], rows: Rows
) -> None:
    """Subscribed or not: a new price is a new plan version ("New price"). (Where the plan's own guard
    answers first for a subscribed plan, with what to do instead, that is a 409.)"""
    before = await _snapshot(Plan)
    response = await staff[role].patch(table("plan", rows.plans[plan]), json={column: PRICE[column]})
    assert response.status_code in {403, 409}, response.text
    assert await _snapshot(Plan) == before
