"""Moving subscribers to a new price of their plan (a newer version, ``app.catalog.prices``), with notice.

Each subscription bills the price it signed up for until staff move it. A move applies from the subscription's
first renewal at least PRICE_CHANGE_NOTICE_DAYS away (by its customer's time, on its own billing grid), and the
notice e-mail falls due that many days before that renewal: the worker's reminder tick writes it
(``send_price_notices``, beside ``app.billing.reminders``), the e-mail follows its outbox event. The renewal run
applies only noticed moves (``scheduled_prices``; ``renewal_rules.decide`` decides, ``mark_applied`` records);
the portal's next-bill line and the renewal reminder show a scheduled one.

A notice found late (the worker was down past its day) first moves its renewal on, to the first one at least the
notice period away: nobody pays a new price without the notice they were promised.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from app import clock
from app.billing.lines import PlanTerms
from app.billing.periods import Interval, period_at
from app.billing.plans import plan_terms_by_id
from app.billing.renewal_rules import ScheduledPrice
from app.db import fetch, insert_many, values_list, write_transaction
from app.errors import Conflict, InvalidInput, NotFound
from app.outbox.service import OutboxRow, record_many
from app.settings import BillingSettings
from app.subscriptions.states import Status
from tables.billing import PriceMove
from tables.catalog import Plan
from tables.subscriptions import Subscription

NOTICE_EVENT = "subscription.price_notice"
SCHEDULED_EVENT = "subscription.price_move_scheduled"
# Subscriptions that will renew again (paused and unpaid ones once they come back).
MOVABLE = (Status.trialing, Status.active, Status.past_due, Status.unpaid, Status.paused)
_OPEN = (PriceMove.applied_at.is_null(), PriceMove.canceled_at.is_null())


def move_date(period_end: datetime, anchor: datetime, interval: Interval, earliest: datetime) -> datetime:
    """The subscription's first renewal at or after ``earliest``: its current period end, or a later boundary
    of its billing grid."""
    if period_end >= earliest:
        return period_end
    period = period_at(anchor, interval, earliest)
    return period.start if period.start == earliest else period.end


@dataclass(slots=True)
class MoveReport:
    scheduled: dict[int, datetime] = field(default_factory=dict)  # subscription -> the renewal it moves at
    unchanged: list[int] = field(default_factory=list)  # already moving to this price
    skipped: list[int] = field(default_factory=list)  # asked for, but not renewing on an older price of the plan


async def move_subscribers(
    to_plan_id: int,
    *,
    actor: str,
    policy: BillingSettings,
    from_plan_id: int | None = None,
    subscription_ids: Collection[int] | None = None,
) -> MoveReport:
    """Move the renewing subscriptions on an older price of ``to_plan_id``'s plan (only ``from_plan_id``'s,
    and/or only ``subscription_ids``) to it from their first renewal at least the notice period away. A move
    to another price not yet applied is replaced; one to this price is kept as it is."""
    target = await Plan.select(Plan.code, Plan.family, Plan.status).where(Plan.id == to_plan_id).first()
    if target is None:
        raise NotFound(f"There is no plan #{to_plan_id}.")
    if target["status"] != Plan.Status.active:
        raise Conflict(f"Plan {target['code']!r} is closed to sign-ups: move subscribers to the current price.")
    if from_plan_id is None and subscription_ids is None:
        raise InvalidInput("Choose whom to move: the subscribers of a price, or a list of subscriptions.")
    family = target["family"]  # None: never re-priced, so no older price to move from
    older = (
        {r["id"] for r in await Plan.select(Plan.id).where(Plan.family == family)} - {to_plan_id} if family else set()
    )
    if not older or (from_plan_id is not None and from_plan_id not in older):
        raise InvalidInput(f"That is not an older price of plan {target['code']!r}.", code="not_an_older_price")
    query = Subscription.select(
        Subscription.id, Subscription.plan, Subscription.billing_anchor, Subscription.current_period_end,
        Subscription.customer._.test_clock._.frozen_time.as_alias("clock_time"),
    ).where(Subscription.plan.is_in([from_plan_id] if from_plan_id else list(older)),
            Subscription.status.is_in(list(MOVABLE)))  # fmt: skip
    if subscription_ids is not None:
        query = query.where(Subscription.id.is_in(list(subscription_ids) or [0]))
    rows = await query
    report = MoveReport(skipped=sorted(set(subscription_ids or ()) - {r["id"] for r in rows}))
    terms = await plan_terms_by_id({r["plan"] for r in rows})
    now = clock.now()
    notice = timedelta(days=policy.price_change_notice_days)
    async with write_transaction():
        current = await PriceMove.select(PriceMove.id, PriceMove.subscription, PriceMove.to_plan).where(
            PriceMove.subscription.is_in([r["id"] for r in rows] or [0]), *_OPEN
        )  # fmt: skip
        report.unchanged = sorted(m["subscription"] for m in current if m["to_plan"] == to_plan_id)
        replaced = [m["id"] for m in current if m["to_plan"] != to_plan_id]
        if replaced:
            await PriceMove.update({PriceMove.canceled_at: now}).where(PriceMove.id.is_in(replaced))
        moves, events = [], list[OutboxRow]()
        kept = set(report.unchanged)
        for row in rows:
            if row["id"] in kept:
                continue
            at = clock.as_utc(row["clock_time"]) if row["clock_time"] is not None else now
            interval = terms[row["plan"]].interval
            effective = move_date(
                clock.as_utc(row["current_period_end"]), clock.as_utc(row["billing_anchor"]), interval, at + notice
            )
            report.scheduled[row["id"]] = effective
            moves.append((row["id"], row["plan"], to_plan_id, effective, effective - notice, actor, now))
            payload = {"from_plan": row["plan"], "to_plan": to_plan_id, "effective_at": effective.isoformat(),
                       "actor": actor}  # fmt: skip
            events.append((SCHEDULED_EVENT, "subscription", row["id"], payload, now))
        await insert_many(
            PriceMove,
            ("subscription", "from_plan", "to_plan", "effective_at", "notice_at", "actor", "created_at"),
            moves,
        )
        await record_many(events, on_commit=False)  # nothing the customer has access to changes yet
    return report


async def scheduled_prices(subscription_ids: Collection[int], *, noticed_only: bool) -> dict[int, ScheduledPrice]:
    """The open moves of these subscriptions (only those whose notice went out, for the renewal run; all of
    them for what the portal and the reminders announce), with the new prices' terms. Two queries at most; the
    first is raw (``fetch``): a renewal batch asks it for 500 subscriptions, mostly to hear of none."""
    if not subscription_ids:
        return {}
    ids = list(subscription_ids)
    sql = (
        "SELECT id, subscription, from_plan, to_plan, effective_at FROM price_move "  # noqa: S608 - placeholders
        f"WHERE subscription IN ({', '.join(['{}'] * len(ids))}) AND applied_at IS NULL AND canceled_at IS NULL"
        + (" AND noticed_at IS NOT NULL" if noticed_only else "")
    )
    rows = await fetch(sql, *ids)
    if not rows:
        return {}
    terms = await plan_terms_by_id({r["to_plan"] for r in rows})
    return {
        r["subscription"]: ScheduledPrice(r["id"], r["from_plan"], terms[r["to_plan"]], clock.as_utc(r["effective_at"]))
        for r in rows
    }


async def mark_applied(applied: Sequence[tuple[int, datetime]]) -> None:
    """Record the moves a renewal batch applied (move id, the renewal's instant), in its transaction."""
    if not applied:
        return
    values = values_list(applied, ("integer", "timestamptz"))
    sql = (
        f"WITH v(id, at) AS (VALUES {values}) "  # noqa: S608 - placeholders only
        "UPDATE price_move SET applied_at = v.at FROM v WHERE price_move.id = v.id"
    )
    await fetch(sql, *(value for row in applied for value in row))


async def _waiting_notices(test_clock_id: int | None) -> list[dict[str, Any]]:
    """Open moves whose notice has not gone out, of subscriptions still on the price they move from."""
    query = PriceMove.select(
        PriceMove.id, PriceMove.subscription, PriceMove.from_plan, PriceMove.to_plan, PriceMove.effective_at,
        PriceMove.notice_at, PriceMove.subscription._.plan.as_alias("plan"),
        PriceMove.subscription._.status.as_alias("status"),
        PriceMove.subscription._.billing_anchor.as_alias("billing_anchor"),
        PriceMove.subscription._.current_period_end.as_alias("current_period_end"),
        PriceMove.subscription._.customer._.test_clock._.frozen_time.as_alias("clock_time"),
    ).where(PriceMove.noticed_at.is_null(), *_OPEN)  # fmt: skip
    if test_clock_id is not None:
        query = query.where(PriceMove.subscription._.customer._.test_clock == test_clock_id)
    return [dict(r) for r in await query if r["plan"] == r["from_plan"] and r["status"] in MOVABLE]


async def notice_times(test_clock_id: int) -> list[datetime]:
    """When the notices still to go out to a test clock's customers fall due (a clock's advance steps there)."""
    return [clock.as_utc(r["notice_at"]) for r in await _waiting_notices(test_clock_id)]


async def send_price_notices(
    policy: BillingSettings, *, now: datetime | None = None, test_clock_id: int | None = None
) -> list[dict[str, Any]]:
    """Decide every price notice now due by its customer's time (only one test clock's customers' when given):
    each move is marked noticed and an outbox event carries what the e-mail says. Returns the notices."""
    now = now or clock.now()
    notice = timedelta(days=policy.price_change_notice_days)
    due = []
    for row in await _waiting_notices(test_clock_id):
        at = clock.as_utc(row["clock_time"]) if row["clock_time"] is not None else now
        if clock.as_utc(row["notice_at"]) <= at:
            due.append((row, at))
    if not due:
        return []
    terms = await plan_terms_by_id({r["from_plan"] for r, _ in due} | {r["to_plan"] for r, _ in due})
    updates, events, notices = [], list[OutboxRow](), []
    for row, at in due:
        old, new = terms[row["from_plan"]], terms[row["to_plan"]]
        effective = clock.as_utc(row["effective_at"])
        if effective - at < notice:  # late: the renewal it announces moves on, never the notice period
            period_end, anchor = clock.as_utc(row["current_period_end"]), clock.as_utc(row["billing_anchor"])
            effective = move_date(period_end, anchor, old.interval, at + notice)
        updates.append((row["id"], at, effective, min(effective - notice, at)))
        payload = {"move_id": row["id"], "subscription_id": row["subscription"], "effective_at": effective.isoformat(),
                   "announced": announcement(old, new)}  # fmt: skip
        events.append((NOTICE_EVENT, "subscription", row["subscription"], payload, at))
        notices.append({"subscription": row["subscription"], "effective_at": effective, "at": at})
    values = values_list(updates, ("integer", "timestamptz", "timestamptz", "timestamptz"))
    sql = (
        f"WITH v(id, at, effective, notice) AS (VALUES {values}) "  # noqa: S608 - placeholders only
        "UPDATE price_move SET noticed_at = v.at, effective_at = v.effective, notice_at = v.notice FROM v "
        "WHERE price_move.id = v.id AND price_move.noticed_at IS NULL AND price_move.canceled_at IS NULL "
        "RETURNING price_move.id"
    )
    async with write_transaction():
        written = {r["id"] for r in await fetch(sql, *(value for row in updates for value in row))}
        await record_many([e for e, u in zip(events, updates, strict=True) if u[0] in written], on_commit=False)
    return [n for n, u in zip(notices, updates, strict=True) if u[0] in written]


def announcement(old: PlanTerms, new: PlanTerms) -> dict[str, Any]:
    """What the notice e-mail says: the plan, the price it had and the price it will have."""
    return {"plan_name": new.name, "old_amount_minor": old.amount_minor, "old_currency": old.currency,
            "amount_minor": new.amount_minor, "currency": new.currency, "cadence": new.interval.describe()}  # fmt: skip
