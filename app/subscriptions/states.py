"""The subscription lifecycle as data (DESIGN.md section 3, Stripe's semantics)."""

from __future__ import annotations

from enum import StrEnum

from app.statemachine import StateMachine
from tables.subscriptions import Subscription

Status = Subscription.Status


class Event(StrEnum):
    activate = "activate"  # the first payment succeeded
    start_trial = "start_trial"  # a payment method was vaulted for a trial
    expire = "expire"  # an incomplete checkout lapsed (23 hours)
    trial_end = "trial_end"  # the trial ran out and the first paid period began
    renew_failed = "renew_failed"  # a renewal charge failed: dunning starts
    pay = "pay"  # the open invoice was paid
    retries_exhausted = "retries_exhausted"  # dunning gave up (the setting may cancel instead)
    forgive = "forgive"  # staff voided the open invoice it was behind on
    pause = "pause"
    resume = "resume"
    cancel = "cancel"  # immediately, or at the period end by the billing run


LIVE = (Status.incomplete, Status.trialing, Status.active, Status.past_due, Status.unpaid, Status.paused)

TRANSITIONS: dict[tuple[Status, Event], Status] = {
    (Status.incomplete, Event.activate): Status.active,
    (Status.incomplete, Event.start_trial): Status.trialing,
    (Status.incomplete, Event.expire): Status.incomplete_expired,
    (Status.trialing, Event.trial_end): Status.active,
    (Status.active, Event.renew_failed): Status.past_due,
    (Status.past_due, Event.pay): Status.active,
    (Status.unpaid, Event.pay): Status.active,
    (Status.past_due, Event.retries_exhausted): Status.unpaid,
    (Status.past_due, Event.forgive): Status.active,
    (Status.unpaid, Event.forgive): Status.active,
    (Status.active, Event.pause): Status.paused,
    (Status.paused, Event.resume): Status.active,
    **{(state, Event.cancel): Status.canceled for state in LIVE},
}

MACHINE: StateMachine[Status, Event] = StateMachine(
    entity="subscription",
    states=Status,
    transitions=TRANSITIONS,
    stamps={Event.cancel: "canceled_at", Event.pause: "paused_at", Event.expire: "ended_at"},
)

# Statuses the billing run renews when their period ends. Unpaid and paused subscriptions get no invoices
# (Stripe stops attempting unpaid ones; a paused one has no running period), canceled ones are over.
RENEWABLE = (Status.trialing, Status.active, Status.past_due)
