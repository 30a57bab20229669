"""A billing action request's lifecycle as data: requested -> approved (the action runs, as the approver) ->
failed when running it was refused; or requested -> rejected. Decided once: only a requested request moves on
by a person. Every move goes through ``app.statemachine.write_transition`` (a BillingActionRequestEvent row and a
``billing_action_request.<event>`` outbox event each).
"""

from __future__ import annotations

from enum import StrEnum

from app.statemachine import StateMachine
from tables.support import BillingActionRequest

Status = BillingActionRequest.Status


class Event(StrEnum):
    approve = "approve"  # a billing staff member said yes: the action runs now
    reject = "reject"  # a billing staff member said no, with a reason
    fail = "fail"  # the approved action was refused when it ran (nothing changed)


TRANSITIONS: dict[tuple[Status, Event], Status] = {
    (Status.requested, Event.approve): Status.approved,
    (Status.requested, Event.reject): Status.rejected,
    (Status.approved, Event.fail): Status.failed,
}

MACHINE: StateMachine[Status, Event] = StateMachine(
    entity="billing_action_request",
    states=Status,
    transitions=TRANSITIONS,
    stamps={Event.approve: "decided_at", Event.reject: "decided_at"},
)
