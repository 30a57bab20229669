"""The ticket lifecycle as data: new -> open -> pending (on the customer) -> solved -> closed.

A customer's reply puts a pending or solved ticket back on the desk (``reopen``); a solved ticket closes by
itself ``SUPPORT_AUTO_CLOSE_DAYS`` after it was solved (``close``, the ``close_solved_tickets`` job). A closed
ticket stays closed: writing to it again opens a follow-up ticket. Every move goes through
``app.statemachine.write_transition`` (a TicketEvent row and a ``ticket.<event>`` outbox event each).
"""

from __future__ import annotations

from enum import StrEnum

from app.statemachine import StateMachine
from tables.support import Ticket

Status = Ticket.Status


class Event(StrEnum):
    open = "open"  # staff took it on (or put it back on the desk)
    await_customer = "await_customer"  # staff asked the customer something: the ball is in their court
    reopen = "reopen"  # the customer wrote again
    solve = "solve"  # staff or the customer said it is solved
    close = "close"  # solved and left alone long enough (the job), or closed by staff


TRANSITIONS: dict[tuple[Status, Event], Status] = {
    (Status.new, Event.open): Status.open,
    (Status.new, Event.await_customer): Status.pending,
    (Status.new, Event.solve): Status.solved,
    (Status.open, Event.await_customer): Status.pending,
    (Status.open, Event.solve): Status.solved,
    (Status.pending, Event.open): Status.open,
    (Status.pending, Event.reopen): Status.open,
    (Status.pending, Event.solve): Status.solved,
    (Status.solved, Event.open): Status.open,
    (Status.solved, Event.reopen): Status.open,
    (Status.solved, Event.await_customer): Status.pending,  # staff follow up on a solved ticket with a question
    (Status.solved, Event.close): Status.closed,
}

MACHINE: StateMachine[Status, Event] = StateMachine(
    entity="ticket",
    states=Status,
    transitions=TRANSITIONS,
    stamps={Event.solve: "solved_at", Event.close: "closed_at"},
)

# Who is expected to act next, as the customer's ticket list says it.
CUSTOMER_LABELS = {
    Status.new: "Waiting for us",
    Status.open: "Waiting for us",
    Status.pending: "Waiting for your reply",
    Status.solved: "Solved",
    Status.closed: "Closed",
}
