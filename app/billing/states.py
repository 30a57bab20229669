"""The invoice lifecycle as data: draft -> open -> paid / void / uncollectible (Stripe's semantics)."""

from __future__ import annotations

from enum import StrEnum

from app.statemachine import StateMachine
from tables.billing import Invoice

Status = Invoice.Status


class Event(StrEnum):
    finalize = "finalize"  # numbered, totalled, snapshotted: immutable from here on
    pay = "pay"
    void = "void"
    mark_uncollectible = "mark_uncollectible"


TRANSITIONS: dict[tuple[Status, Event], Status] = {
    (Status.draft, Event.finalize): Status.open,
    (Status.open, Event.pay): Status.paid,
    (Status.open, Event.void): Status.void,
    (Status.open, Event.mark_uncollectible): Status.uncollectible,
    # Stripe lets an uncollectible invoice still be paid (a late payment) or voided (written off).
    (Status.uncollectible, Event.pay): Status.paid,
    (Status.uncollectible, Event.void): Status.void,
}

MACHINE: StateMachine[Status, Event] = StateMachine(
    entity="invoice",
    states=Status,
    transitions=TRANSITIONS,
    stamps={Event.finalize: "finalized_at", Event.pay: "paid_at", Event.void: "voided_at"},
    initial=Status.draft,
)
