"""Dunning: what a failed charge of an open invoice means (DESIGN.md section 3, Stripe's smart-retry-free
schedule). The first failure of a renewal makes the subscription ``past_due``; retries follow
``DUNNING_RETRY_DAYS`` (after 1, 3 and 5 days by default, counted from the invoice's due date); when the last
one fails, the subscription becomes ``unpaid`` or is canceled (``DUNNING_FINAL_ACTION``). Paying the open
invoice later restores it (``app.subscriptions.settlement``).

``record_failures`` records any number of failed attempts set-based, in one transaction: the per-charge
charger passes one, a batch renewal run passes all of its declines; both write the same rows. An invoice that
is no longer open when its failure is recorded (a payment overtook the decline) is left alone.

Access follows each subscription's own status and paid-through date: nothing here touches another
subscription of the same customer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app import clock
from app.db import fetch, for_update, values_list, write_transaction
from app.outbox.service import OutboxRow, record_many
from app.settings import BillingSettings
from app.statemachine import Move
from app.subscriptions import service as subscriptions
from app.subscriptions.states import Event, Status
from tables.billing import Invoice
from tables.subscriptions import Subscription

FAILED_EVENT = "invoice.payment_failed"

_INVOICES = (
    "SELECT i.id, i.status, i.customer, i.subscription, i.billing_reason, i.attempt_count, i.due_at, "
    "i.finalized_at, i.total_minor, i.currency, i.number FROM invoice i WHERE i.id IN ({ids}) ORDER BY i.id"
)
_SUBSCRIPTIONS = "SELECT id, status FROM subscription WHERE id IN ({ids}) ORDER BY id"


@dataclass(frozen=True, slots=True)
class FailedCharge:
    invoice_id: int
    reason: str
    at: datetime  # the customer's "now" (their test clock, else real time)


@dataclass(slots=True)
class _Decision:
    invoice: dict[str, Any]
    failure: FailedCharge
    attempts: int
    retry_at: datetime | None
    final: str | None = None  # "unpaid" or "canceled" when this failure was the last one


def next_attempt_at(due_at: datetime, attempts_made: int, retry_days: Sequence[int]) -> datetime | None:
    """When to try again after ``attempts_made`` attempts (the first charge counts as one) have failed;
    None when the schedule is exhausted."""
    if attempts_made < 1 or attempts_made > len(retry_days):
        return None
    return due_at + timedelta(days=retry_days[attempts_made - 1])


async def record_failure(
    invoice_id: int, *, reason: str, policy: BillingSettings, actor: str, at: datetime | None = None
) -> datetime | None:
    """One failed attempt (``record_failures`` of one). Returns the next attempt, None when there is none."""
    failure = FailedCharge(invoice_id, reason, at or clock.now())
    return (await record_failures([failure], policy=policy, actor=actor)).get(invoice_id)


async def record_failures(
    failures: Sequence[FailedCharge], *, policy: BillingSettings, actor: str
) -> dict[int, datetime | None]:
    """Count each failed attempt, schedule the next one (or give up and apply the final action), and write
    the ``invoice.payment_failed`` event the e-mail follows: one transaction, a few statements for the whole
    batch. Returns the next attempt of each invoice counted (those no longer open are not)."""
    if not failures:
        return {}
    by_invoice = {failure.invoice_id: failure for failure in failures}
    async with write_transaction():
        invoices = await _locked(_INVOICES, list(by_invoice), of="i")
        decisions = [_decide(row, by_invoice[row["id"]], policy) for row in invoices if row["status"] == "open"]
        if not decisions:
            return {}
        await _count_attempts(decisions)
        await _move_subscriptions(decisions, policy, actor)
        await record_many(_failed_event(decision) for decision in decisions)
    return {decision.invoice["id"]: decision.retry_at for decision in decisions}


async def _locked(template: str, ids: list[int], *, of: str = "") -> list[dict[str, Any]]:
    sql = template.format(ids=", ".join("{}" for _ in ids)) + for_update(of=of)
    return await fetch(sql, *ids)


def _decide(invoice: dict[str, Any], failure: FailedCharge, policy: BillingSettings) -> _Decision:
    due = clock.as_utc(invoice["due_at"] or invoice["finalized_at"] or failure.at)
    attempts = invoice["attempt_count"] + 1
    return _Decision(invoice, failure, attempts, next_attempt_at(due, attempts, policy.dunning_retry_days))


async def _count_attempts(decisions: list[_Decision]) -> None:
    rows = [(d.invoice["id"], d.attempts, d.retry_at) for d in decisions]
    await fetch(
        f"WITH v(id, attempts, retry_at) AS (VALUES {values_list(rows, ('integer', 'integer', 'timestamptz'))}) "  # noqa: S608
        "UPDATE invoice SET attempt_count = v.attempts, next_payment_attempt_at = v.retry_at FROM v "
        "WHERE invoice.id = v.id AND invoice.status = {}",
        *(value for row in rows for value in row),
        Invoice.Status.open.value,
    )


async def _move_subscriptions(decisions: list[_Decision], policy: BillingSettings, actor: str) -> None:
    """A failed renewal moves an active subscription to past_due; the last failed retry of a past_due one
    applies the final action. Decided in invoice order on the locked statuses, as one failure after another
    would be, then written as two batches of transitions."""
    renewals = [d for d in decisions if d.invoice["subscription"] is not None and _is_renewal(d.invoice)]
    if not renewals:
        return
    locked = await _locked(_SUBSCRIPTIONS, sorted({d.invoice["subscription"] for d in renewals}))
    status = {row["id"]: row["status"] for row in locked}
    failing: list[Move[Event]] = []
    giving_up: list[Move[Event]] = []
    for d in renewals:
        subscription_id, at = d.invoice["subscription"], d.failure.at
        if status.get(subscription_id) == Status.active:
            failing.append(Move(subscription_id, Event.renew_failed, at, d.failure.reason))
            status[subscription_id] = Status.past_due
        if d.retry_at is None and status.get(subscription_id) == Status.past_due:
            giving_up.append(_final_move(subscription_id, d.invoice["id"], policy, at))
            d.final = "canceled" if policy.dunning_final_action == "cancel" else "unpaid"
            status[subscription_id] = Status.canceled if d.final == "canceled" else Status.unpaid
    await subscriptions.transitions(failing, actor=actor)
    await subscriptions.transitions(giving_up, actor=actor)


def _is_renewal(invoice: dict[str, Any]) -> bool:
    return bool(invoice["billing_reason"] == Invoice.BillingReason.subscription_cycle)


def _final_move(subscription_id: int, invoice_id: int, policy: BillingSettings, at: datetime) -> Move[Event]:
    """The last retry failed: the subscription becomes unpaid (kept, without access, until paid) or ends."""
    reason = f"invoice #{invoice_id}: payment retries exhausted"
    if policy.dunning_final_action == "cancel":
        changes = {Subscription.ended_at._meta.name: at, Subscription.cancel_reason._meta.name: "payment failed"}
        return Move(subscription_id, Event.cancel, at, reason, changes)
    return Move(subscription_id, Event.retries_exhausted, at, reason)


def _failed_event(d: _Decision) -> OutboxRow:
    invoice = d.invoice
    payload = {
        "invoice_id": invoice["id"],
        "customer_id": invoice["customer"],
        "subscription_id": invoice["subscription"],
        "attempt": d.attempts,
        "reason": d.failure.reason,
        "next_attempt_at": d.retry_at.isoformat() if d.retry_at else None,
        "final_action": d.final,
        "amount_minor": invoice["total_minor"],
        "currency": invoice["currency"],
        "number": invoice["number"],
    }
    return FAILED_EVENT, "invoice", invoice["id"], payload, clock.now()
