"""Reminders before money moves: "upcoming renewal" (RENEWAL_REMINDER_DAYS before a period ends) and "trial
ending" (TRIAL_REMINDER_DAYS before a trial ends). A tick decides them and writes one ``BillingNotice`` per
subscription period (unique key) with an outbox event in the same transaction; the e-mail follows the event.
However often the tick runs, each period gets each notice once. Times are each customer's own: real time,
and each test clock's frozen time for its customers.

The event carries what the e-mail announces (plan, amount), decided when the notice is written by the billing
run's own code: the e-mail says what was due then, even when it is sent after the renewal it announces has
happened (a test clock's advance runs a month in one go; its outbox is dispatched afterwards)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from app import clock
from app.billing.renewal_rules import Ending, Renewal
from app.billing.renewals import upcoming_renewals
from app.db import fetch, values_list, write_transaction
from app.outbox.service import record
from app.settings import BillingSettings
from tables.billing import BillingNotice
from tables.clocks import TestClock
from tables.subscriptions import Subscription

EVENT = "subscription.reminder"
# (kind, status, the column that ends what the notice announces)
_KINDS = (
    (BillingNotice.Kind.renewal, Subscription.Status.active, "current_period_end"),
    (BillingNotice.Kind.trial, Subscription.Status.trialing, "trial_end"),
)


def _candidates_sql(column: str, on_clock: bool) -> str:
    clock_filter = "c.test_clock = {}" if on_clock else "c.test_clock IS NULL"
    return (
        f"SELECT s.id, s.{column} AS ends FROM subscription s JOIN customer c ON c.id = s.customer "  # noqa: S608
        f"WHERE s.status = {{}} AND NOT s.cancel_at_period_end AND s.{column} > {{}} AND s.{column} <= {{}} "
        f"AND {clock_filter}"
    )


async def send_reminders(
    policy: BillingSettings, *, now: datetime | None = None, test_clock_id: int | None = None
) -> list[dict[str, Any]]:
    """Decide every reminder now due (only one test clock's customers' when given); returns the notices
    written (kind, subscription, ends)."""
    now = now or clock.now()
    times: list[tuple[datetime, int | None]] = [(now, None)] if test_clock_id is None else []
    clocks = TestClock.select(TestClock.id, TestClock.frozen_time)
    if test_clock_id is not None:
        clocks = clocks.where(TestClock.id == test_clock_id)
    times += [(clock.as_utc(c["frozen_time"]), c["id"]) for c in await clocks]
    written: list[dict[str, Any]] = []
    for kind, status, column in _KINDS:
        days = _days_ahead(kind, policy)
        for at, clock_id in times:
            args: list[Any] = [status.value, at, at + timedelta(days=days)]
            rows = await fetch(_candidates_sql(column, clock_id is not None), *args, *([clock_id] if clock_id else []))
            written += await _write(kind, rows, at)
    return written


def reminders_due_at(subscription: Mapping[str, Any], policy: BillingSettings) -> list[datetime]:
    """When a subscription's notices fall due (``send_reminders`` writes each from then on, once)."""
    if subscription["cancel_at_period_end"]:
        return []
    return [
        clock.as_utc(subscription[column]) - timedelta(days=_days_ahead(kind, policy))
        for kind, status, column in _KINDS
        if subscription["status"] == status and subscription[column] is not None
    ]


def announcement(upcoming: Renewal | Ending | None) -> dict[str, Any] | None:
    """What a reminder announces about the renewal the billing run will make (None: it will not renew)."""
    if not isinstance(upcoming, Renewal):
        return None
    line = upcoming.line
    return {"plan_name": upcoming.plan.name, "amount_minor": line.amount_minor, "currency": line.currency}


def _days_ahead(kind: BillingNotice.Kind, policy: BillingSettings) -> int:
    return policy.renewal_reminder_days if kind == BillingNotice.Kind.renewal else policy.trial_reminder_days


async def _write(kind: BillingNotice.Kind, rows: list[dict[str, Any]], at: datetime) -> list[dict[str, Any]]:
    if not rows:
        return []
    notices = [(f"{kind.value}:{r['id']}:{clock.as_utc(r['ends']).isoformat()}", r["id"], kind.value, at) for r in rows]
    sql = (
        f"INSERT INTO billing_notice (key, subscription, kind, created_at) VALUES {values_list(notices)} "  # noqa: S608
        "ON CONFLICT (key) DO NOTHING RETURNING subscription"
    )
    async with write_transaction():
        created = await fetch(sql, *(value for notice in notices for value in notice))
        ends = {r["id"]: clock.as_utc(r["ends"]) for r in rows}
        noticed = [r["subscription"] for r in created]
        upcoming = await upcoming_renewals(await Subscription.select().where(Subscription.id.is_in(noticed or [0])))
        for row in created:
            payload = {"kind": kind.value, "subscription_id": row["subscription"],
                       "ends_at": ends[row["subscription"]].isoformat(),
                       "announced": announcement(upcoming.get(row["subscription"]))}  # fmt: skip
            await record(EVENT, "subscription", row["subscription"], payload)
    return [{"kind": kind.value, "subscription": r["subscription"], "ends": ends[r["subscription"]]} for r in created]
