"""The subscription lifecycle: subscribe, activate, trials, cancel (now or at period end), pause and resume.

Every status change goes through ``transition``. Times default to the customer's own "now" (their test clock
when they have one), so staff can drive a test customer's subscription through time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from piccolo.columns import Column

from app import clock
from app.billing import service as invoices
from app.billing.customer_time import CUSTOMER_NOW, SUBSCRIPTIONS_ON_CUSTOMER_TIME, customer_now
from app.billing.errors import ConcurrentChange, IllegalTransition
from app.billing.lines import PlanTerms, subscription_line
from app.billing.periods import Period, first_period
from app.billing.plans import plan_terms_by_id
from app.db import fetch, lock_row, read_time, write_transaction
from app.errors import Conflict, InvalidInput, NotFound
from app.outbox.service import record
from app.settings import DEFAULT_TRIAL_ELIGIBILITY, TrialEligibility
from app.statemachine import Move, Transition, write_transition, write_transitions
from app.subscriptions import states, trials
from app.subscriptions.states import Event, Status
from tables.accounts import Customer
from tables.billing import Invoice
from tables.subscriptions import Subscription, SubscriptionEvent

INCOMPLETE_EXPIRES_AFTER = timedelta(hours=23)  # DESIGN.md section 3: an abandoned checkout lapses
MAX_TRIAL = timedelta(days=730)  # how far ahead a trial may end (Stripe's limit)
_LAPSED = (
    f"SELECT s.id, {CUSTOMER_NOW} AS at FROM{SUBSCRIPTIONS_ON_CUSTOMER_TIME}"
    f"WHERE s.status = {{}} AND s.expires_at <= {CUSTOMER_NOW}"
)


class TrialUsed(Conflict):
    code = "trial_used"


@dataclass(frozen=True, slots=True)
class Subscribed:
    subscription_id: int
    status: str
    period: Period
    trial_end: datetime | None
    invoice: invoices.FinalizedInvoice | None  # the first invoice to pay; None for a trial


async def plan_terms(plan_id: int) -> PlanTerms:
    terms = (await plan_terms_by_id([plan_id])).get(plan_id)
    if terms is None:
        raise NotFound(f"There is no plan #{plan_id}.")
    return terms


async def load(subscription_id: int) -> dict[str, Any]:
    row = await Subscription.select().where(Subscription.id == subscription_id).first()
    if row is None:
        raise NotFound(f"There is no subscription #{subscription_id}.")
    for column in ("current_period_start", "current_period_end", "billing_anchor", "paused_at", "trial_end"):
        if row[column] is not None:
            row[column] = clock.as_utc(row[column])
    return dict(row)


async def transition(
    subscription_id: int,
    event: Event,
    *,
    actor: str,
    reason: str = "",
    at: datetime | None = None,
    changes: Mapping[Column, Any] | None = None,
    data: Mapping[str, Any] | None = None,
) -> Transition:
    """The one way a subscription changes status (see app.statemachine.write_transition)."""
    at = at or clock.now()
    values: dict[Column, Any] = {Subscription.updated_at: at}
    values.update(changes or {})
    return await write_transition(
        states.MACHINE, Subscription, SubscriptionEvent, subscription_id, event,
        actor=actor, at=at, reason=reason, changes=values, data=data or {},
    )  # fmt: skip


async def transitions(moves: Sequence[Move[Event]], *, actor: str, on_commit: bool = True) -> list[Transition]:
    """``transition`` for many subscriptions at once, set-based (app.statemachine.write_transitions)."""
    stamped = [replace(m, changes={"updated_at": m.at, **m.changes}, data=m.data or {}) for m in moves]
    return await write_transitions(
        states.MACHINE, Subscription, SubscriptionEvent, stamped, actor=actor, on_commit=on_commit
    )


async def subscribe(
    customer_id: int,
    plan_id: int,
    *,
    actor: str,
    payment_method_id: int | None = None,
    at: datetime | None = None,
    trial_policy: TrialEligibility = DEFAULT_TRIAL_ELIGIBILITY,
) -> Subscribed:
    """An ``incomplete`` subscription: with a trial (the plan's, unless the customer has had theirs: see
    ``trials``) it waits for a vaulted method (then ``start_trial``), otherwise for its first, already finalized
    invoice to be paid (then ``activate``). It lapses after 23 hours."""
    at = at or await customer_now(customer_id)
    plan = await plan_terms(plan_id)
    trial_days = (await trials.offer(customer_id, plan_id, trial_policy)).days
    if trial_days:
        trial_end = at + timedelta(days=trial_days)
        period, anchor = Period(at, trial_end), trial_end  # paid periods count from the trial's end
    else:
        trial_end, period = None, first_period(at, plan.interval)
        anchor = at
    async with write_transaction():
        rows = await Subscription.insert(
            Subscription(
                customer=customer_id, plan=plan_id, status=Status.incomplete, payment_method=payment_method_id,
                current_period_start=period.start, current_period_end=period.end, billing_anchor=anchor,
                trial_end=trial_end, expires_at=at + INCOMPLETE_EXPIRES_AFTER, created_at=at, updated_at=at,
            )
        ).returning(Subscription.id)  # fmt: skip
        subscription_id = int(rows[0]["id"])
        await record("subscription.created", "subscription", subscription_id, {"plan": plan_id, "actor": actor})
        invoice = None
        if trial_end is None:
            invoice_id = await invoices.create_draft(
                customer_id, plan.currency, [subscription_line(plan, period)], subscription_id=subscription_id,
                billing_reason=Invoice.BillingReason.subscription_create, period=period,
                payment_method_id=payment_method_id,
            )  # fmt: skip
            invoice = await invoices.finalize(invoice_id, actor=actor, at=at)
    return Subscribed(subscription_id, Status.incomplete, period, trial_end, invoice)


async def activate(subscription_id: int, *, actor: str, at: datetime | None = None) -> Transition:
    """The first invoice was paid (or a free plan needs none): the subscription goes live."""
    return await transition(
        subscription_id, Event.activate, actor=actor, at=at, changes={Subscription.expires_at: None}
    )


async def start_trial(
    subscription_id: int,
    *,
    actor: str,
    payment_method_id: int | None = None,
    at: datetime | None = None,
    trial_policy: TrialEligibility = DEFAULT_TRIAL_ELIGIBILITY,
) -> Transition:
    """A payment method was vaulted for the trial: the trial runs until ``trial_end``. Asked again under the
    customer's lock, as another trial may have started since this checkout began (two products' checkouts at
    once, one trial per customer): then it refuses (TrialUsed), and choosing the plan again checks out paid."""
    changes: dict[Column, Any] = {Subscription.expires_at: None}
    if payment_method_id is not None:
        changes[Subscription.payment_method] = payment_method_id
    sub = await load(subscription_id)
    async with write_transaction():
        await lock_row(Customer, sub["customer"])
        if (await trials.offer(sub["customer"], sub["plan"], trial_policy, excluding=subscription_id)).had_one:
            raise TrialUsed(
                "You have already had a free trial, so this one cannot start. Choose the plan again to pay."
            )
        return await transition(subscription_id, Event.start_trial, actor=actor, at=at, changes=changes)


async def expire_incomplete(*, now: datetime | None = None, test_clock_id: int | None = None) -> list[int]:
    """Lapse incomplete subscriptions past ``expires_at`` (by their customer's time; only one test clock's
    customers when given) and void their unpaid first invoices; never charges. Few rows at a time, so one
    transaction each."""
    now = now or clock.now()
    sql, args = _LAPSED, [now, Status.incomplete.value, now]
    if test_clock_id is not None:
        sql, args = sql + " AND c.test_clock = {}", [*args, test_clock_id]
    rows = await fetch(sql + " ORDER BY s.id", *args)
    expired = []
    for row in rows:
        at = read_time(row["at"])
        async with write_transaction():
            await transition(row["id"], Event.expire, actor="system", reason="checkout abandoned", at=at)
            open_invoices = await Invoice.select(Invoice.id).where(
                Invoice.subscription == row["id"], Invoice.status == Invoice.Status.open
            )
            for invoice in open_invoices:
                await invoices.void(invoice["id"], actor="system", reason="subscription expired", at=at)
        expired.append(row["id"])
    return expired


async def cancel(
    subscription_id: int, *, actor: str, reason: str, at_period_end: bool = True, at: datetime | None = None
) -> Transition | None:
    """Cancel now (a transition) or at the period end (scheduled; ``undo_cancel`` until then). The billing
    run ends a scheduled cancellation at the exact period end."""
    sub = await load(subscription_id)
    if sub["status"] == Status.incomplete:
        # Its first invoice is open: canceled, the subscription would no longer keep it out of the collection.
        raise IllegalTransition(
            f"Subscription #{subscription_id} was never paid for: it lapses by itself (and its invoice is voided) "
            f"{INCOMPLETE_EXPIRES_AFTER.seconds // 3600} hours after its checkout started.",
            code="subscription_incomplete",
        )
    at = at or await customer_now(sub["customer"])
    if not at_period_end:
        changes: dict[Column, Any] = {Subscription.ended_at: at, Subscription.cancel_reason: reason}
        return await transition(subscription_id, Event.cancel, actor=actor, reason=reason, at=at, changes=changes)
    states.MACHINE.target(sub["status"], Event.cancel)  # refuse what could not be canceled at all
    await _set_if_status(
        sub,
        {Subscription.cancel_at_period_end: True, Subscription.cancel_reason: reason, Subscription.canceled_at: at},
        "subscription.cancel_scheduled",
        {"actor": actor, "reason": reason, "ends_at": sub["current_period_end"].isoformat()},
        at,
    )
    return None


async def undo_cancel(subscription_id: int, *, actor: str) -> None:
    """Keep a subscription that was set to cancel at its period end."""
    sub = await load(subscription_id)
    if not sub["cancel_at_period_end"]:
        raise Conflict("This subscription is not set to cancel.", code="not_scheduled")
    at = await customer_now(sub["customer"])
    await _set_if_status(
        sub,
        {Subscription.cancel_at_period_end: False, Subscription.cancel_reason: "", Subscription.canceled_at: None},
        "subscription.cancel_undone",
        {"actor": actor},
        at,
    )


async def pause(subscription_id: int, *, actor: str, reason: str = "", at: datetime | None = None) -> Transition:
    """Suspend access and billing; the unused rest of the period is kept for the resume."""
    sub = await load(subscription_id)
    return await transition(
        subscription_id, Event.pause, actor=actor, reason=reason, at=at or await customer_now(sub["customer"])
    )


async def resume(subscription_id: int, *, actor: str, at: datetime | None = None) -> Transition:
    """The period resumes where it stopped: it ends the time left at the pause after the resume, and billing
    counts its periods from that new end (a shift by days would not keep a monthly grid on one day)."""
    sub = await load(subscription_id)
    at = at or await customer_now(sub["customer"])
    paused_at = sub["paused_at"] or at
    new_end = at + max(sub["current_period_end"] - paused_at, timedelta(0))
    changes: dict[Column, Any] = {
        Subscription.current_period_end: new_end,
        Subscription.billing_anchor: new_end,
        Subscription.paused_at: None,
    }
    return await transition(subscription_id, Event.resume, actor=actor, at=at, changes=changes)


async def extend_trial(subscription_id: int, trial_end: datetime, *, actor: str, reason: str = "") -> datetime:
    """Give a trialing subscription a later trial end. The period, the reminder and the first paid period all
    follow it: the billing run ends the trial (and bills) at the new end, and counts paid periods from there."""
    sub = await load(subscription_id)
    if sub["status"] != Status.trialing:
        raise IllegalTransition(f"Subscription #{subscription_id} is {sub['status']}: only a trial can be extended.")
    trial_end, current = clock.as_utc(trial_end), sub["trial_end"] or sub["current_period_end"]
    at = await customer_now(sub["customer"])
    if trial_end <= current:
        raise InvalidInput(
            f"The trial already runs until {current:%Y-%m-%d %H:%M} UTC: choose a later end.", code="trial_not_extended"
        )
    if trial_end > at + MAX_TRIAL:
        raise InvalidInput("A trial can end at most two years from now.", code="trial_too_long")
    values = {Subscription.trial_end: trial_end, Subscription.current_period_end: trial_end,
              Subscription.billing_anchor: trial_end}  # fmt: skip
    payload = {"actor": actor, "reason": reason, "from": current.isoformat(), "to": trial_end.isoformat()}
    await _set_if_status(sub, values, "subscription.trial_extended", payload, at, trail=(actor, reason))
    return trial_end


async def _set_if_status(
    sub: Mapping[str, Any],
    values: dict[Any, Any],
    event_type: str,
    payload: dict[str, Any],
    at: datetime,
    *,
    trail: tuple[str, str] | None = None,
) -> None:
    """A change that is not a status change, written only if the status is still the one we decided on; with
    ``trail`` (actor, reason) also recorded in the subscription's event trail."""
    async with write_transaction():
        moved = (
            await Subscription.update({**values, Subscription.updated_at: at})
            .where(Subscription.id == sub["id"], Subscription.status == sub["status"])
            .returning(Subscription.id)
        )
        if not moved:
            raise ConcurrentChange("The subscription changed while this was decided; try again.")
        if trail is not None:
            actor, reason = trail
            await SubscriptionEvent.insert(
                SubscriptionEvent(subscription=sub["id"], event=event_type.removeprefix("subscription."),
                                  from_status=sub["status"], to_status=sub["status"], actor=actor, reason=reason,
                                  data=payload, occurred_at=at)
            )  # fmt: skip
        await record(event_type, "subscription", sub["id"], payload)
