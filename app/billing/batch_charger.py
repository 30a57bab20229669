"""Charging a renewal shard's invoices as a batch: the same money rules as ``InvoiceCharger``, a few set-based
statements per table instead of ~40 statements per invoice.

1. One transaction locks the shard's invoices, picks each one's method and inserts every payment row with
   its idempotency key (``invoice-{id}-attempt-{n}-{random}``, the single path's key) in one INSERT, and
   commits: the keys are stored before any gateway call. The rows are created ``processing``: each holds its
   invoice's claim, as the single path's do (only invoices with no payment at all are batched, under the lock).
2. The gateway is called for all of them, ``concurrency`` at a time, outside any transaction.
3. One transaction records the outcomes: the payments' statuses, ids and failure fields (one UPDATE), their
   event rows and outbox events (one INSERT each), and for the succeeded ones the invoices paid through the
   invoice machine's set-based writer (``app.statemachine.write_transitions``: one UPDATE, the event rows and
   the outbox events), as ``billing.service.mark_paid`` pays one.

Only the plain case is batched: an open renewal invoice of an active subscription, with an amount due, a
usable saved method, and no payment yet. Anything else (a resumed attempt, no method, a subscription that is
past_due, a first invoice) goes through the per-charge ``InvoiceCharger``, which knows every case; so do the
invoices whose payment someone else recorded meanwhile (a webhook that overtook the answer). Declined and
failed charges are recorded here like the others, then counted for dunning as one batch after the commit
(``dunning.record_failures``: the per-charge path's rows, set-based). UNKNOWN and PENDING outcomes count
nothing: the payment keeps its key, and the next collection or the reconciler asks PayPal again with the same
key, never a new charge.

PostgreSQL only (``= ANY(array)``, ``FOR UPDATE``); on SQLite the run charges one invoice at a time.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app import clock
from app.billing import dunning
from app.billing import service as invoices
from app.billing.charger import ACTOR, FAILED, attempt_prefix
from app.billing.charging import DEFAULT_CONCURRENCY, ChargeInvoice, ChargeReport, charge_invoices
from app.db import fetch, insert_many, is_postgres, values_list, write_transaction
from app.money import Money
from app.outbox.service import record_many
from app.payments.gateway import ChargeResult, ChargeStatus, Failure, GatewayError, PaymentGateway
from app.payments.service import pick_method
from app.payments.states import OUTBOX_EVENTS, S, allowed, outbox_payload
from app.settings import BillingSettings
from tables.billing import Invoice
from tables.payments import Payment, PaymentEvent
from tables.subscriptions import Subscription

log = logging.getLogger("recurra.billing.batch_charger")

_INVOICES = (
    "SELECT i.id, i.status, i.attempt_count, i.customer, i.total_minor, i.amount_paid_minor, i.currency, i.number, "
    "i.billing_reason, i.payment_method AS invoice_method, s.status AS subscription_status, "
    "s.payment_method AS subscription_method, tc.frozen_time AS clock_time "
    "FROM invoice i JOIN customer c ON c.id = i.customer LEFT JOIN test_clock tc ON tc.id = c.test_clock "
    "LEFT JOIN subscription s ON s.id = i.subscription "
    "WHERE i.id = ANY({}::integer[]) ORDER BY i.id FOR UPDATE OF i"
)
_STARTED = "SELECT DISTINCT invoice FROM payment WHERE invoice = ANY({}::integer[])"
_METHODS = (
    "SELECT id, customer, vault_token, is_default FROM payment_method "
    "WHERE customer = ANY({}::integer[]) AND status = {} ORDER BY is_default DESC, id DESC"
)
# The invoices a batch settles itself are locked and read again once their charges are heard.
_PAYABLE = (
    "SELECT i.id, i.status, i.total_minor, s.status AS subscription_status FROM invoice i "
    "JOIN subscription s ON s.id = i.subscription WHERE i.id = ANY({}::integer[]) ORDER BY i.id FOR UPDATE OF i"
)
_LOCK_PAYMENTS = "SELECT id, status FROM payment WHERE id = ANY({}::integer[]) ORDER BY id FOR UPDATE"
_EVENTS = {ChargeStatus.SUCCEEDED: "succeed", ChargeStatus.DECLINED: "decline", ChargeStatus.UNKNOWN: "lose_track"}


@dataclass(frozen=True, slots=True)
class _Charge:
    invoice_id: int
    payment_id: int
    key: str
    vault_token: str
    amount: Money
    description: str
    at: datetime  # the customer's "now"


@dataclass(frozen=True, slots=True)
class _Outcome:
    charge: _Charge
    event: str | None  # the payment transition; None: PENDING (ids only) or an unexpected error
    result: ChargeResult | None
    failure: Failure | None
    error: str = ""


class BatchCharger:
    """``await batch(invoice_ids)``: charge a shard's leased invoices once each; returns the ``ChargeReport``.
    ``single`` (the per-charge charger) takes every invoice the batch does not handle itself."""

    def __init__(
        self,
        gateway: PaymentGateway,
        policy: BillingSettings,
        single: ChargeInvoice,
        *,
        actor: str = ACTOR,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self.gateway = gateway
        self.policy = policy
        self.single = single
        self.actor = actor
        self.concurrency = concurrency

    async def __call__(self, invoice_ids: Sequence[int]) -> ChargeReport:
        ids = sorted(set(invoice_ids))
        if not ids or not is_postgres():
            return await charge_invoices(ids, self.single, concurrency=self.concurrency)
        charges, others = await self._start(ids)
        outcomes = await self._call_gateway(charges)
        later = await self._record(outcomes)
        report = await charge_invoices(others + later.resume, self.single, concurrency=self.concurrency)
        try:
            await dunning.record_failures(later.failed, policy=self.policy, actor=self.actor)
        except Exception as exc:  # the declines stay recorded; each invoice's lease runs out and it is tried again
            log.exception("recording the batch's failed charges failed")
            report.errors.update({failure.invoice_id: f"{type(exc).__name__}: {exc}" for failure in later.failed})
        report.errors.update({o.charge.invoice_id: o.error for o in outcomes if o.error})
        report.attempted = len(ids)
        return report

    async def _start(self, ids: list[int]) -> tuple[list[_Charge], list[int]]:
        """Step 1: the payment rows and their keys, committed. Returns the batch's charges and the invoices
        left to the per-charge path."""
        now = clock.now()
        async with write_transaction():
            invoices = await fetch(_INVOICES, ids)
            started = {row["invoice"] for row in await fetch(_STARTED, ids)}
            methods = await fetch(_METHODS, sorted({row["customer"] for row in invoices}), "active")
            batched, others, rows = [], [], []
            for invoice in invoices:
                if invoice["status"] != Invoice.Status.open:
                    continue  # paid or closed meanwhile: nothing to collect (as the single path decides)
                method = _method(invoice, methods)
                plain = (
                    invoice["billing_reason"] == Invoice.BillingReason.subscription_cycle
                    and invoice["subscription_status"] == Subscription.Status.active
                    and invoice["total_minor"] > invoice["amount_paid_minor"]
                    and invoice["id"] not in started
                    and method is not None
                )
                if not plain or method is None:
                    others.append(invoice["id"])
                    continue
                key = attempt_prefix(invoice["id"], invoice["attempt_count"] + 1) + uuid.uuid4().hex[:16]
                due = Money(invoice["total_minor"] - invoice["amount_paid_minor"], invoice["currency"])
                batched.append((invoice, method, key, due))
                rows.append((invoice["id"], invoice["customer"], method["id"], Payment.Kind.vaulted.value,
                             due.amount_minor, due.currency, S.processing.value, key, now, now))  # fmt: skip
            created = await insert_many(
                Payment,
                ("invoice", "customer", "payment_method", "kind", "amount_minor", "currency", "status",
                 "idempotency_key", "created_at", "updated_at"),
                rows,
                returning="id, idempotency_key",
            )  # fmt: skip
        payment_of = {row["idempotency_key"]: row["id"] for row in created}
        charges = [
            _Charge(
                invoice["id"], payment_of[key], key, method["vault_token"], due,
                f"Invoice {invoice['number'] or invoice['id']}",
                clock.as_utc(invoice["clock_time"]) if invoice["clock_time"] is not None else now,
            )
            for invoice, method, key, due in batched
        ]  # fmt: skip
        return charges, others

    async def _call_gateway(self, charges: list[_Charge]) -> list[_Outcome]:
        """Step 2: every charge, ``concurrency`` in flight, no transaction open."""
        gate = asyncio.Semaphore(self.concurrency)

        async def one(charge: _Charge) -> _Outcome:
            async with gate:
                try:
                    result = await self.gateway.charge_vaulted(
                        vault_token=charge.vault_token, amount=charge.amount, description=charge.description,
                        reference=charge.key, request_id=charge.key,
                    )  # fmt: skip
                except GatewayError as exc:  # our request was refused as invalid: nothing moved
                    return _Outcome(charge, "fail", None, exc.failure)
                except Exception as exc:  # a bug: the payment keeps its claim and key, for the reconciler
                    log.exception("charging invoice %s failed", charge.invoice_id)
                    return _Outcome(charge, None, None, None, f"{type(exc).__name__}: {exc}")
                return _Outcome(charge, _EVENTS.get(result.status), result, result.failure)

        return list(await asyncio.gather(*(one(charge) for charge in charges)))

    async def _record(self, outcomes: list[_Outcome]) -> _Later:
        """Step 3: payments, their events and outbox rows; paid invoices, their events and outbox rows."""
        later = _Later()
        heard = [o for o in outcomes if not o.error]
        if not heard:
            return later
        now = clock.now()
        async with write_transaction():
            locked = await fetch(_LOCK_PAYMENTS, [o.charge.payment_id for o in heard])
            status_of = {row["id"]: row["status"] for row in locked}
            moving: list[tuple[_Outcome, S]] = []
            ids_only: list[_Outcome] = []
            for outcome in heard:
                current = status_of.get(outcome.charge.payment_id)
                target = allowed(current, outcome.event) if current and outcome.event else None
                if current != S.processing:  # recorded by someone else meanwhile: the single path settles it
                    later.resume.append(outcome.charge.invoice_id)
                elif target is None:
                    ids_only.append(outcome)  # PENDING: keep the ids, change nothing (as apply_charge does)
                else:
                    moving.append((outcome, target))
            await _keep_ids(ids_only, now)
            updated = await _move_payments(moving, now)
            await _payment_events(moving, updated, self.actor, now)
            succeeded = [o for o, target in moving if target == S.succeeded]
            await _pay_invoices(succeeded, self.actor, later)
            for outcome, target in moving:
                if target in FAILED:
                    failure = outcome.failure
                    reason = (failure.message or failure.code if failure else "") or "payment declined"
                    later.failed.append(dunning.FailedCharge(outcome.charge.invoice_id, reason, outcome.charge.at))
                elif target == S.unknown:
                    log.info("invoice %s: payment %s is unknown; reconciled later", outcome.charge.invoice_id,
                             outcome.charge.payment_id)  # fmt: skip
        return later


@dataclass(slots=True)
class _Later:
    """What the recording transaction leaves to the per-invoice functions, after it commits."""

    resume: list[int] = field(default_factory=list)  # to the per-charge path
    failed: list[dunning.FailedCharge] = field(default_factory=list)  # for dunning, in one batch


def _method(invoice: dict[str, Any], methods: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The method ``payments.charge_invoice`` picks (the subscription's, else the invoice's, else the default)."""
    mine = [m for m in methods if m["customer"] == invoice["customer"]]  # _METHODS orders them as pick_method needs
    method = pick_method(mine, invoice["subscription_method"] or invoice["invoice_method"])
    return dict(method) if method is not None else None


def _failure_values(failure: Failure | None) -> tuple[str, str, str]:
    if failure is None:
        return "", "", ""
    return failure.category.value, failure.code[:100], failure.message[:2000]


async def _keep_ids(outcomes: list[_Outcome], now: datetime) -> None:
    rows = [
        (o.charge.payment_id, o.result.order_id, o.result.capture_id, now)
        for o in outcomes
        if o.result is not None and (o.result.order_id or o.result.capture_id)
    ]
    if not rows:
        return
    values = values_list(rows, ("integer", "text", "text", "timestamptz"))
    await fetch(
        f"WITH v(id, order_id, capture_id, at) AS (VALUES {values}) "  # noqa: S608 - code constants
        "UPDATE payment SET gateway_order_id = COALESCE(v.order_id, payment.gateway_order_id), "
        "gateway_capture_id = COALESCE(v.capture_id, payment.gateway_capture_id) FROM v WHERE payment.id = v.id",
        *(value for row in rows for value in row),
    )


async def _move_payments(moving: list[tuple[_Outcome, S]], now: datetime) -> dict[int, dict[str, Any]]:
    """One UPDATE: status, gateway ids and failure fields; returns the updated rows by id."""
    if not moving:
        return {}
    rows = []
    for outcome, target in moving:
        result = outcome.result
        rows.append((outcome.charge.payment_id, target.value, result.order_id if result else None,
                     result.capture_id if result else None, *_failure_values(outcome.failure)))  # fmt: skip
    values = values_list(rows, ("integer", "text", "text", "text", "text", "text", "text"))
    updated = await fetch(
        f"WITH v(id, status, order_id, capture_id, category, code, message) AS (VALUES {values}) "  # noqa: S608
        "UPDATE payment SET status = v.status, updated_at = {}, "
        "gateway_order_id = COALESCE(v.order_id, payment.gateway_order_id), "
        "gateway_capture_id = COALESCE(v.capture_id, payment.gateway_capture_id), "
        "failure_category = v.category, failure_code = v.code, failure_message = v.message "
        "FROM v WHERE payment.id = v.id RETURNING payment.*",
        *(value for row in rows for value in row),
        now,
    )
    return {row["id"]: row for row in updated}


async def _payment_events(
    moving: list[tuple[_Outcome, S]], updated: dict[int, dict[str, Any]], actor: str, now: datetime
) -> None:
    """The PaymentEvent rows and outbox events ``payments.states.transition`` writes, one INSERT each."""
    events, outbox = [], []
    for outcome, target in moving:
        payment_id = outcome.charge.payment_id
        reason = outcome.failure.message if outcome.failure else ""
        events.append((payment_id, outcome.event, S.processing.value, target.value, actor, reason[:2000], now))
        payload = outbox_payload(updated[payment_id], None)
        outbox.append((OUTBOX_EVENTS[target], "payment", payment_id, payload, now))
    await insert_many(
        PaymentEvent, ("payment", "event", "from_status", "to_status", "actor", "reason", "occurred_at"), events
    )
    await record_many(outbox)


async def _pay_invoices(succeeded: list[_Outcome], actor: str, later: _Later) -> None:
    """``settle_paid_invoice`` for an active subscription's renewal, set-based: the invoices paid through the
    invoice machine (``billing.service.transitions``: amount, stamp, no next attempt, event rows and outbox
    events), as ``mark_paid`` pays one. An invoice no longer open, or whose subscription stopped being active
    since step 1 (a past_due one comes back to active when paid), is settled one by one after the commit."""
    if not succeeded:
        return
    rows = await fetch(_PAYABLE, [o.charge.invoice_id for o in succeeded])
    total_of = {
        row["id"]: row["total_minor"]
        for row in rows
        if row["status"] == Invoice.Status.open and row["subscription_status"] == Subscription.Status.active
    }
    later.resume += [o.charge.invoice_id for o in succeeded if o.charge.invoice_id not in total_of]
    moves = [
        invoices.paying(o.charge.invoice_id, paid_minor=total_of[o.charge.invoice_id], at=o.charge.at)
        for o in succeeded
        if o.charge.invoice_id in total_of
    ]
    await invoices.transitions(moves, actor=actor)
