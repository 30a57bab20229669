"""The ticket lifecycle table: what each state may become, and nothing else."""

from __future__ import annotations

import pytest

from app.billing.errors import IllegalTransition
from app.support.states import MACHINE, Event, Status

ALLOWED = {
    (Status.new, Event.open): Status.open,
    (Status.new, Event.await_customer): Status.pending,
    (Status.new, Event.solve): Status.solved,
    (Status.open, Event.await_customer): Status.pending,
    (Status.open, Event.solve): Status.solved,
    (Status.pending, Event.open): Status.open,
    (Status.pending, Event.reopen): Status.open,  # the customer answered
    (Status.pending, Event.solve): Status.solved,
    (Status.solved, Event.open): Status.open,
    (Status.solved, Event.reopen): Status.open,  # the customer wrote again
    (Status.solved, Event.await_customer): Status.pending,  # staff follow up on a solved ticket
    (Status.solved, Event.close): Status.closed,  # a week later, by the job
}


@pytest.mark.parametrize("state", list(Status))
@pytest.mark.parametrize("event", list(Event))
def test_every_state_and_event(state: Status, event: Event) -> None:
    if (state, event) in ALLOWED:
        assert MACHINE.target(state, event) == ALLOWED[(state, event)]
    else:
        with pytest.raises(IllegalTransition):
            MACHINE.target(state, event)


def test_closed_is_final_and_solving_and_closing_are_stamped() -> None:
    assert MACHINE.events_from(Status.closed) == []
    assert MACHINE.stamps == {Event.solve: "solved_at", Event.close: "closed_at"}
