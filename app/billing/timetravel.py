"""Advancing a test clock as Stripe's test clocks do: everything that falls due for the clock's customers in the
skipped time happens, in time order, each at its own instant.

The clock does not jump to its target. It steps from one due instant to the next - a period end (renewal,
trial end, scheduled downgrade or cancellation), an invoice's next payment attempt (a dunning retry, and after
the last one the final action), an abandoned checkout's expiry, a reminder's or a price notice's day - and at
each step runs what the billing tick, the collector and the reminder tick would run by then, on the clock's
customers only: the same functions, at the clock's time. Each step is recorded (a ``test_clock.advanced`` event
from one instant to the next; the rows it changes carry its time), so a crash half-way leaves the clock where
the work got to and advancing again carries on.

An attempt whose outcome is unknown (the gateway did not answer) is not repeated within the same advance: its
lease would bring it back every ten minutes of clock time; the collector and the reconciler take it up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app import clock
from app.billing.charging import ChargeInvoice, charge_invoices
from app.billing.collection import lease_invoices
from app.billing.price_moves import notice_times, send_price_notices
from app.billing.reminders import reminders_due_at, send_reminders
from app.billing.renewals import generate_renewals
from app.billing.testclocks import ensure_forward, get_test_clock, move_test_clock
from app.settings import BillingSettings
from app.subscriptions.service import expire_incomplete
from app.subscriptions.states import RENEWABLE, Status
from tables.billing import Invoice
from tables.subscriptions import Subscription


@dataclass(slots=True)
class Step:
    """What happened at one instant of the clock's time."""

    at: datetime
    expired: int = 0  # abandoned checkouts lapsed
    renewed: int = 0  # renewal invoices (trial ends and scheduled plan changes among them)
    ended: int = 0  # cancellations at the period end
    attempted: int = 0  # charge attempts: renewals' first charges and dunning retries
    reminded: int = 0  # reminders and price notices written (their e-mails follow the outbox)

    def __bool__(self) -> bool:
        return any((self.expired, self.renewed, self.ended, self.attempted, self.reminded))

    def describe(self) -> str:
        counts = [
            (self.renewed, "renewed"), (self.ended, "ended"), (self.attempted, "charge attempts"),
            (self.expired, "checkouts expired"), (self.reminded, "reminders"),
        ]  # fmt: skip
        return f"{self.at:%Y-%m-%d %H:%M}: " + ", ".join(f"{n} {what}" for n, what in counts if n)


@dataclass(slots=True)
class ClockRun:
    steps: list[Step] = field(default_factory=list)  # the instants at which something happened, in order

    def total(self, name: str) -> int:
        return sum(int(getattr(step, name)) for step in self.steps)


class _Advance:
    def __init__(self, clock_id: int, charge: ChargeInvoice, policy: BillingSettings) -> None:
        self.clock_id = clock_id
        self.charge = charge
        self.policy = policy
        self.tried: dict[int, int] = {}  # invoice -> its attempt count when this advance charged it

    async def run(self, at: datetime) -> Step:
        """Everything due by ``at`` (the clock's time now), in the order the ticks would run it."""
        step = Step(at)
        step.expired = len(await expire_incomplete(now=at, test_clock_id=self.clock_id))
        generated = await generate_renewals(test_clock_id=self.clock_id)
        step.renewed, step.ended = generated.renewed, generated.ended
        while due := await self._chargeable(at):
            leased = set(await lease_invoices(invoice_ids=list(due), limit=len(due)))
            if not leased:  # another collector holds them
                break
            self.tried.update({invoice_id: due[invoice_id] for invoice_id in leased})
            step.attempted += (await charge_invoices(sorted(leased), self.charge)).attempted
        step.reminded = len(await send_reminders(self.policy, test_clock_id=self.clock_id))
        step.reminded += len(await send_price_notices(self.policy, test_clock_id=self.clock_id))
        return step

    async def _chargeable(self, at: datetime) -> dict[int, int]:
        """Open invoices due for an attempt by ``at`` (id -> attempts so far), except those this advance
        already tried and heard nothing of."""
        rows = await self._open_invoices()
        return {
            r["id"]: r["attempt_count"]
            for r in rows
            if clock.as_utc(r["next_payment_attempt_at"]) <= at and not self._stalled(r)
        }

    def _stalled(self, invoice: dict[str, Any]) -> bool:
        return bool(self.tried.get(invoice["id"]) == invoice["attempt_count"])

    async def _open_invoices(self) -> list[dict[str, Any]]:
        rows = await Invoice.select(Invoice.id, Invoice.attempt_count, Invoice.next_payment_attempt_at).where(
            Invoice.customer._.test_clock == self.clock_id,
            Invoice.status == Invoice.Status.open,
            Invoice.next_payment_attempt_at.is_not_null(),
        )
        return [dict(row) for row in rows]

    async def next_due(self, after: datetime, until: datetime) -> datetime | None:
        """The first instant in (after, until] at which something falls due for the clock's customers."""
        subscriptions = await Subscription.select(
            Subscription.status, Subscription.current_period_end, Subscription.trial_end, Subscription.expires_at,
            Subscription.cancel_at_period_end,
        ).where(Subscription.customer._.test_clock == self.clock_id)  # fmt: skip
        times: list[datetime] = []
        for sub in subscriptions:
            if sub["status"] in RENEWABLE:
                times.append(clock.as_utc(sub["current_period_end"]))
            if sub["status"] == Status.incomplete and sub["expires_at"] is not None:
                times.append(clock.as_utc(sub["expires_at"]))
            times += reminders_due_at(sub, self.policy)
        invoices = await self._open_invoices()
        times += [clock.as_utc(r["next_payment_attempt_at"]) for r in invoices if not self._stalled(r)]
        times += await notice_times(self.clock_id)
        return min((t for t in times if after < t <= until), default=None)


async def advance_and_run(
    clock_id: int, to: datetime, *, actor: str, charge: ChargeInvoice, policy: BillingSettings
) -> ClockRun:
    """Advance the clock to ``to`` step by step, running at each instant what fell due then (see the module
    docstring); ``charge`` is the billing run's per-invoice charger. Returns the steps at which something
    happened."""
    to = clock.as_utc(to)
    at = ensure_forward(await get_test_clock(clock_id), to).frozen_time
    advance, result = _Advance(clock_id, charge, policy), ClockRun()
    while True:
        if step := await advance.run(at):  # what is due already, then at each next instant
            result.steps.append(step)
        following = await advance.next_due(at, to)
        if following is None:
            if at == to:
                return result
            following = to
        await move_test_clock(clock_id, following, actor=actor)
        at = following
