"""State machines as data, and the one way a row moves between states.

Each entity declares a ``StateMachine``: the table ``{(from_state, event): to_state}`` and the ``*_at`` column
each event stamps. ``write_transition`` is the single writer every entity's ``transition()`` goes through: it
refuses illegal moves, updates the row only if its status is still the one it read (so two concurrent
changes cannot both win, on PostgreSQL and on SQLite alike), stamps the time, and writes the event row and
the outbox event in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from piccolo.columns import Column
from piccolo.table import Table

from app.billing.errors import ConcurrentChange, IllegalTransition
from app.billing.sql import write_transaction
from app.errors import NotFound
from app.outbox.service import record

S = TypeVar("S", bound=StrEnum)
E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True, slots=True)
class StateMachine(Generic[S, E]):
    entity: str  # "subscription", "invoice": names the outbox events (subscription.cancel, invoice.finalize)
    states: type[S]
    transitions: Mapping[tuple[S, E], S]
    stamps: Mapping[E, str] = field(default_factory=dict)  # event -> column set to the transition's instant

    def target(self, current: str, event: E) -> S:
        """The state ``event`` moves ``current`` to, or IllegalTransition."""
        to = self.transitions.get((self.states(current), event))
        if to is None:
            raise IllegalTransition(
                f"A {self.entity} that is {current} cannot {event.value.replace('_', ' ')}.",
                extra={"from": current, "event": event.value},
            )
        return to

    def events_from(self, current: str) -> list[E]:
        state = self.states(current)
        return [event for (start, event) in self.transitions if start == state]


@dataclass(frozen=True, slots=True)
class Transition:
    row_id: int
    event: str
    from_status: str
    to_status: str
    at: datetime


def event_payload(from_status: str, to_status: str, actor: str, reason: str, at: datetime) -> dict[str, Any]:
    """The outbox payload of a transition, whoever writes it (one row here, or a batch in the billing run)."""
    return {"from": from_status, "to": to_status, "actor": actor, "reason": reason, "at": at.isoformat()}


async def write_transition(
    machine: StateMachine[S, E],
    table: type[Table],
    event_table: type[Table],
    row_id: int,
    event: E,
    *,
    actor: str,
    at: datetime,
    reason: str = "",
    changes: Mapping[Column, Any] | None = None,
    data: Mapping[str, Any] | None = None,
) -> Transition:
    """Move one row; call it inside the caller's transaction when other writes must commit with it."""
    status_column: Column = table._meta.get_column_by_name("status")
    id_column: Column = table._meta.primary_key
    async with write_transaction():
        row = await table.select(status_column).where(id_column == row_id).first()
        if row is None:
            raise NotFound(f"There is no {machine.entity} #{row_id}.")
        current = row["status"]
        to = machine.target(current, event)
        values: dict[Column | str, Any] = {status_column: to.value}
        for column, value in (changes or {}).items():
            values[column] = value
        if stamp := machine.stamps.get(event):
            values[table._meta.get_column_by_name(stamp)] = at
        moved = await table.update(values).where(id_column == row_id, status_column == current).returning(id_column)
        if not moved:
            raise ConcurrentChange(f"The {machine.entity} changed while this was decided; try again.")
        event_values: dict[str, Any] = {
            machine.entity: row_id,
            "event": event.value,
            "from_status": current,
            "to_status": to.value,
            "actor": actor,
            "reason": reason,
            "occurred_at": at,
        }
        if data is not None:
            event_values["data"] = dict(data)
        await event_table.insert(event_table(**event_values))
        payload = event_payload(current, to.value, actor, reason, at)
        await record(f"{machine.entity}.{event.value}", machine.entity, row_id, payload)
    return Transition(row_id, event.value, current, to.value, at)
