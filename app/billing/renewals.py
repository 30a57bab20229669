"""The generation step of the billing run: due subscriptions -> finalized renewal invoices, in batches.

One batch is one transaction: claim up to ``batch_size`` due subscriptions (PostgreSQL: ``FOR UPDATE SKIP
LOCKED``, so concurrent workers take disjoint rows; SQLite: an immediate transaction, so they take turns),
decide each one (``renewal_rules.decide``), then write every invoice, line, event row and outbox event of the
batch with one multi-row statement per table, and advance the subscriptions with one UPDATE. Every status
change goes through its machine as the single paths' would: the invoices are written finalized by
``billing.service.insert_finalized`` (``finalize``'s moves, set-based), trials ending and cancellations taking
effect by ``subscriptions.service.transitions``. Nothing is charged here: the ids of the invoices to collect
are returned for the charging step.

A subscription is due when its period has ended by *its customer's* time: the customer's test clock if they
have one, else ``now`` (``app.clock.now()`` by default). Invoices are unique on (subscription, period_start)
(index ``invoice_renewal_period_uniq``), so even a bug that let two workers renew the same period could not
bill it twice: the second batch would fail and roll back whole.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from app import clock
from app.billing import service as invoices
from app.billing import states as invoice_states
from app.billing.customer_time import CUSTOMER_NOW, SUBSCRIPTIONS_ON_CUSTOMER_TIME
from app.billing.errors import ConcurrentChange
from app.billing.lines import PlanTerms
from app.billing.numbering import Series, allocate, series_for
from app.billing.plans import plan_terms_by_id
from app.billing.price_moves import mark_applied, scheduled_prices
from app.billing.renewal_rules import DueSubscription, Ending, Renewal, ScheduledPrice, decide
from app.billing.service import SNAPSHOT_COLUMNS, customer_snapshot
from app.db import fetch, for_update, insert_many, values_list, write_transaction
from app.outbox.service import record_many
from app.statemachine import NEW, Move, event_payload
from app.subscriptions import service as subscriptions
from app.subscriptions.states import RENEWABLE, Status
from tables.billing import Invoice, InvoiceLine
from tables.subscriptions import Subscription, SubscriptionEvent

DEFAULT_BATCH = 500
ACTOR = "system:billing_run"
MAX_ID = 2**31 - 1
OutcomeT = TypeVar("OutcomeT", Renewal, Ending, Renewal | Ending)

# A subscription is due when its period has ended by its customer's time (test clock, else ``now``).
# Built from code constants only; every value is a parameter: statuses x3, first id, last id, now.
DUE_FROM_WHERE = (
    " FROM" + SUBSCRIPTIONS_ON_CUSTOMER_TIME + "WHERE s.status IN ({}, {}, {}) AND s.id BETWEEN {} AND {}"
    " AND s.current_period_end <= " + CUSTOMER_NOW
)
# The subscription columns a renewal is decided from (``renewal_rules.decide``).
_DECIDED_BY = ("id", "status", "plan", "pending_plan", "billing_anchor", "current_period_end", "cancel_at_period_end")
_CLAIM = (
    "SELECT "
    + ", ".join(f"s.{column}" for column in _DECIDED_BY)
    + ", s.customer, s.payment_method, tc.frozen_time AS clock_time, c.is_test, "
    + ", ".join(f"c.{column}" for column in SNAPSHOT_COLUMNS)
    + DUE_FROM_WHERE
)


def due_arguments(now: datetime, first_id: int = 0, last_id: int = MAX_ID) -> list[Any]:
    return [*(status.value for status in RENEWABLE), first_id, last_id, now]


@dataclass(slots=True)
class GenerationResult:
    invoice_ids: list[int] = field(default_factory=list)  # finalized, open, with an amount to collect
    renewed: int = 0
    ended: int = 0

    def add(self, other: GenerationResult) -> None:
        self.invoice_ids += other.invoice_ids
        self.renewed += other.renewed
        self.ended += other.ended


@dataclass(frozen=True, slots=True)
class _Item(Generic[OutcomeT]):
    row: dict[str, Any]
    at: datetime  # the customer's "now": when the invoice is finalized and due
    outcome: OutcomeT


async def generate_renewals(
    *,
    now: datetime | None = None,
    first_id: int = 0,
    last_id: int = MAX_ID,
    test_clock_id: int | None = None,
    batch_size: int = DEFAULT_BATCH,
) -> GenerationResult:
    """Renew every due subscription with an id in [first_id, last_id] (optionally only those on one test
    clock) until none is due; a subscription several periods behind gets one invoice per period."""
    now = now or clock.now()
    result = GenerationResult()
    # Walk the range with a cursor, so each claim starts past the rows just renewed instead of stepping over
    # them again; a new pass from the start catches subscriptions that are still due (several periods behind,
    # or skipped while another worker held them). A pass that claims nothing from the start ends the run.
    cursor = first_id
    while True:
        batch, last_claimed = await _generate_batch(now, cursor, last_id, test_clock_id, batch_size)
        if last_claimed is None:
            if cursor == first_id:
                return result
            cursor = first_id
            continue
        result.add(batch)
        cursor = last_claimed + 1


async def _generate_batch(
    now: datetime, first_id: int, last_id: int, test_clock_id: int | None, batch_size: int
) -> tuple[GenerationResult, int | None]:
    """One transaction; returns what it did and the highest id it claimed (None when nothing was due)."""
    async with write_transaction():
        rows = await _claim(now, first_id, last_id, test_clock_id, batch_size)
        if not rows:
            return GenerationResult(), None
        plans = await plan_terms_by_id(
            {r["plan"] for r in rows} | {r["pending_plan"] for r in rows if r["pending_plan"]}
        )
        moves = await scheduled_prices([r["id"] for r in rows], noticed_only=True)  # new prices, once announced
        items: list[_Item[Renewal | Ending]] = []
        for row in rows:
            at = clock.as_utc(row["clock_time"]) if row["clock_time"] is not None else now
            items.append(_Item(row, at, _decide(row, plans, moves.get(row["id"]))))
        renewing = [_Item(i.row, i.at, i.outcome) for i in items if isinstance(i.outcome, Renewal)]
        ending = [_Item(i.row, i.at, i.outcome) for i in items if isinstance(i.outcome, Ending)]
        to_charge = await _write_invoices(renewing)
        await _advance(renewing)
        await mark_applied([(i.outcome.price_move.move_id, i.at) for i in renewing if i.outcome.price_move])
        await _transitions(renewing, ending)
        await _write_plan_changes(renewing)
    return GenerationResult(to_charge, len(renewing), len(ending)), rows[-1]["id"]


def _decide(row: dict[str, Any], plans: dict[int, PlanTerms], move: ScheduledPrice | None = None) -> Renewal | Ending:
    due = DueSubscription(
        id=row["id"],
        status=Status(row["status"]),
        plan_id=row["plan"],
        pending_plan_id=row["pending_plan"],
        billing_anchor=clock.as_utc(row["billing_anchor"]),
        period_end=clock.as_utc(row["current_period_end"]),
        cancel_at_period_end=bool(row["cancel_at_period_end"]),
    )
    pending = plans[due.pending_plan_id] if due.pending_plan_id else None
    return decide(due, plans[due.plan_id], pending, move)


async def upcoming_renewal(subscription_id: int) -> Renewal | Ending | None:
    """What the billing run will do when this subscription's current period ends (a scheduled downgrade, a
    trial's end, a cancellation, a new price included), decided by the code that will do it: the reminder
    e-mail's source."""
    row = await Subscription.select(*(Subscription._meta.get_column_by_name(c) for c in _DECIDED_BY)).where(
        Subscription.id == subscription_id
    ).first()  # fmt: skip
    if row is None:
        return None
    return (await upcoming_renewals([row]))[subscription_id]


async def upcoming_renewals(rows: Sequence[Mapping[str, Any]]) -> dict[int, Renewal | Ending]:
    """``upcoming_renewal`` for subscription rows already loaded (the portal's "next bill"), with one query for
    their plans. Rows must be renewing ones (trialing, active, past_due)."""
    if not rows:
        return {}
    plans = await plan_terms_by_id({r["plan"] for r in rows} | {r["pending_plan"] for r in rows if r["pending_plan"]})
    # A new price whose notice is still to go out is announced too: it will have gone out by its renewal.
    moves = await scheduled_prices([r["id"] for r in rows], noticed_only=False)
    return {row["id"]: _decide(dict(row), plans, moves.get(row["id"])) for row in rows}


async def _claim(
    now: datetime, first_id: int, last_id: int, test_clock_id: int | None, batch_size: int
) -> list[dict[str, Any]]:
    sql, args = _CLAIM, due_arguments(now, first_id, last_id)
    if test_clock_id is not None:
        sql += " AND c.test_clock = {}"
        args.append(test_clock_id)
    sql += " ORDER BY s.id LIMIT {}" + for_update(skip_locked=True, of="s")
    args.append(batch_size)
    return await fetch(sql, *args)


async def _numbers(items: Sequence[_Item[Renewal]]) -> list[str]:
    """One gapless number per invoice, in item order, taken per series (test customers have their own) and
    calendar year of each finalization."""
    keys = [(series_for(Series.invoice, is_test=bool(i.row["is_test"])), i.at.year) for i in items]
    pools = {key: iter(await allocate(*key, keys.count(key))) for key in sorted(set(keys))}
    return [next(pools[key]) for key in keys]


async def _write_invoices(items: Sequence[_Item[Renewal]]) -> list[int]:
    """The renewal invoices, finalized as ``billing.service.finalize`` finalizes one (the same moves:
    ``finalizing``), with their lines: one INSERT per table for the whole batch. Returns those to collect."""
    if not items:
        return []
    numbers = await _numbers(items)
    new = (_new_invoice(item, number) for item, number in zip(items, numbers, strict=True))
    ids = await invoices.insert_finalized(new, actor=ACTOR)
    await _write_lines(items, {item.row["id"]: invoice_id for item, invoice_id in zip(items, ids, strict=True)})
    return [invoice_id for item, invoice_id in zip(items, ids, strict=True) if item.outcome.line.amount_minor > 0]


def _new_invoice(item: _Item[Renewal], number: str) -> tuple[dict[str, Any], list[Move[invoice_states.Event]]]:
    """A renewal invoice's columns as ``create_draft`` takes them, and the moves that finalize it."""
    line, period = item.outcome.line, item.outcome.period
    values = {
        "customer": item.row["customer"], "subscription": item.row["id"],
        "billing_reason": Invoice.BillingReason.subscription_cycle.value, "currency": line.currency,
        "period_start": period.start, "period_end": period.end, "payment_method": item.row["payment_method"],
        "created_at": item.at,
    }  # fmt: skip
    moves = invoices.finalizing(
        NEW, number=number, total_minor=line.amount_minor, snapshot=customer_snapshot(item.row),
        subscription_id=item.row["id"], at=item.at, reason="renewal",
    )  # fmt: skip
    return values, moves


async def _write_lines(items: Sequence[_Item[Renewal]], invoice_of: dict[int, int]) -> None:
    rows = []
    for item in items:
        line, period = item.outcome.line, item.outcome.period
        rows.append(
            (
                invoice_of[item.row["id"]], line.kind.value, line.description, line.plan_id, line.quantity,
                line.unit_amount_minor, line.amount_minor, period.start, period.end,
            )
        )  # fmt: skip
    await insert_many(
        InvoiceLine,
        ("invoice", "kind", "description", "plan", "quantity", "unit_amount_minor", "amount_minor",
         "period_start", "period_end"),
        rows,
    )  # fmt: skip


async def _advance(items: Sequence[_Item[Renewal]]) -> None:
    """Move each renewed subscription into its new period (and plan and anchor) in one statement, only if its
    status is still the one it was claimed with; a trial ending is a transition (``_transitions``)."""
    staying = [item for item in items if item.outcome.event is None]
    if not staying:
        return
    rows = [(i.outcome.subscription_id, i.outcome.from_status.value, *_period_values(i).values()) for i in staying]
    columns = tuple(_period_values(staying[0]))
    casts = ("integer", "text", *(Subscription._meta.get_column_by_name(c).column_type for c in columns))
    sql = (
        f"WITH v(id, old_status, {', '.join(columns)}) AS (VALUES {values_list(rows, casts)}) "  # noqa: S608
        f"UPDATE subscription SET {', '.join(f'{c} = v.{c}' for c in columns)} "
        "FROM v WHERE subscription.id = v.id AND subscription.status = v.old_status RETURNING subscription.id"
    )
    updated = await fetch(sql, *(value for row in rows for value in row))
    if len(updated) != len(rows):  # claimed rows are ours: a mismatch means someone bypassed the claim
        raise ConcurrentChange("Subscriptions changed during the billing run; the batch was rolled back.")


def _period_values(item: _Item[Renewal]) -> dict[str, Any]:
    """The columns a renewal moves the subscription forward by (code constants as names)."""
    r = item.outcome
    return {
        "plan": r.plan.plan_id, "pending_plan": None, "billing_anchor": r.billing_anchor,
        "current_period_start": r.period.start, "current_period_end": r.period.end, "updated_at": item.at,
    }  # fmt: skip


async def _transitions(renewing: Sequence[_Item[Renewal]], ending: Sequence[_Item[Ending]]) -> None:
    """What the period end changes in the subscriptions' status (a trial ends, with the new period; a
    cancellation takes effect), through the subscription machine, as of the period end's instant. At a period
    end nothing holds the customer's entitlements (app/subscriptions/access.py): no on-commit work."""
    moves = [
        Move(i.outcome.subscription_id, i.outcome.event, _period_end(i), "period ended", _period_values(i))
        for i in renewing
        if i.outcome.event is not None
    ]
    # A cancellation asked for earlier keeps the time it was asked (canceled_at, as Stripe's does).
    moves += [
        Move(i.outcome.subscription_id, i.outcome.event, _period_end(i), "period ended",
             {"ended_at": _period_end(i), "updated_at": i.at}, keep_stamp=True)
        for i in ending
    ]  # fmt: skip
    await subscriptions.transitions(moves, actor=ACTOR, on_commit=False)


def _period_end(item: _Item[Any]) -> datetime:
    return clock.as_utc(item.row["current_period_end"])


async def _write_plan_changes(items: Sequence[_Item[Renewal]]) -> None:
    """Event rows and outbox events for what the period end changed besides the status (no machine event): a
    scheduled plan change, a new price."""
    event_rows, outbox_rows = [], []
    for item in items:
        r, effective = item.outcome, _period_end(item)
        changes: list[tuple[str, str, dict[str, Any]]] = []
        if r.plan_changed:
            changes.append(
                ("plan_change", "scheduled plan change", {"from_plan": item.row["plan"], "to_plan": r.plan.plan_id})
            )
        if r.price_move is not None:
            changes.append(
                ("price_change", "new price", {"from_plan": item.row["plan"], "to_plan": r.plan.plan_id,
                                               "price_move": r.price_move.move_id})
            )  # fmt: skip
        for event, reason, data in changes:
            event_rows.append((r.subscription_id, event, r.from_status.value, r.to_status.value, ACTOR, reason,
                               json.dumps(data), effective))  # fmt: skip
            payload = event_payload(r.from_status.value, r.to_status.value, ACTOR, reason, effective) | data
            outbox_rows.append((f"subscription.{event}", "subscription", r.subscription_id, payload, item.at))
    await insert_many(
        SubscriptionEvent,
        ("subscription", "event", "from_status", "to_status", "actor", "reason", "data", "occurred_at"),
        event_rows,
    )
    # At a period end nothing holds the customer's entitlements (app/subscriptions/access.py): no on-commit work.
    await record_many(outbox_rows, on_commit=False)
