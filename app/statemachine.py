"""State machines as data, and the one way a row moves between states.

Each entity declares a ``StateMachine``: the table ``{(from_state, event): to_state}`` and the ``*_at`` column
each event stamps. ``write_transition`` is the single writer every entity's ``transition()`` goes through: it
refuses illegal moves, updates the row only if its status is still the one it read (so two concurrent
changes cannot both win, on PostgreSQL and on SQLite alike), stamps the time, and writes the event row and
the outbox event in the same transaction. ``write_transitions`` is its set-based form for a batch (dunning a
renewal run's declines): the same table, stamps, event rows and outbox events, a few statements in all.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from piccolo.columns import Column
from piccolo.table import Table

from app import clock
from app.billing.errors import ConcurrentChange, IllegalTransition
from app.db import fetch, for_update, insert_many, values_list, write_transaction
from app.errors import NotFound
from app.outbox.service import OutboxRow, record, record_many

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


@dataclass(frozen=True, slots=True)
class Move(Generic[E]):
    """One row's transition in a batch (``write_transitions``); ``changes`` are further columns, by name."""

    row_id: int
    event: E
    at: datetime
    reason: str = ""
    changes: Mapping[str, Any] = field(default_factory=dict)
    data: Mapping[str, Any] | None = None


def _moved_columns(machine: StateMachine[S, E], event: E, to: S, at: datetime) -> dict[str, Any]:
    """The columns every transition sets: the status, and the event's ``*_at`` stamp."""
    values: dict[str, Any] = {"status": to.value}
    if stamp := machine.stamps.get(event):
        values[stamp] = at
    return values


def _event_row(
    machine: StateMachine[S, E], row_id: int, event: E, current: str, to: S, *, actor: str, reason: str, at: datetime
) -> dict[str, Any]:
    return {
        machine.entity: row_id,
        "event": event.value,
        "from_status": current,
        "to_status": to.value,
        "actor": actor,
        "reason": reason,
        "occurred_at": at,
    }


def _outbox_row(transition: Transition, entity: str, actor: str, reason: str) -> OutboxRow:
    payload = event_payload(transition.from_status, transition.to_status, actor, reason, transition.at)
    return f"{entity}.{transition.event}", entity, transition.row_id, payload, clock.now()


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
        values: dict[Column | str, Any] = {}
        for column, value in (changes or {}).items():
            values[column] = value
        for name, value in _moved_columns(machine, event, to, at).items():
            values[table._meta.get_column_by_name(name)] = value
        moved = await table.update(values).where(id_column == row_id, status_column == current).returning(id_column)
        if not moved:
            raise ConcurrentChange(f"The {machine.entity} changed while this was decided; try again.")
        event_values = _event_row(machine, row_id, event, current, to, actor=actor, reason=reason, at=at)
        if data is not None:
            event_values["data"] = dict(data)
        await event_table.insert(event_table(**event_values))
        done = Transition(row_id, event.value, current, to.value, at)
        kind, aggregate, key, payload, _ = _outbox_row(done, machine.entity, actor, reason)
        await record(kind, aggregate, key, dict(payload))
    return done


async def write_transitions(
    machine: StateMachine[S, E], table: type[Table], event_table: type[Table], moves: Sequence[Move[E]], *, actor: str
) -> list[Transition]:
    """``write_transition`` for many rows at once, set-based: one locking SELECT, one UPDATE per kind of move,
    one INSERT of event rows and one of outbox events, with the same rules, columns and rows. Every move must
    be allowed (else IllegalTransition and nothing is written); one move per row."""
    if not moves:
        return []
    ids = [move.row_id for move in moves]
    if len(set(ids)) != len(ids):
        raise ValueError("one move per row in a batch of transitions")
    name = table._meta.tablename
    async with write_transaction():
        locked = await fetch(
            f"SELECT id, status FROM {name} WHERE id IN ({', '.join('{}' for _ in ids)}) ORDER BY id" + for_update(),  # noqa: S608
            *ids,
        )
        current = {row["id"]: row["status"] for row in locked}
        by_columns: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        done, event_rows = [], []
        for move in moves:
            if move.row_id not in current:
                raise NotFound(f"There is no {machine.entity} #{move.row_id}.")
            to = machine.target(current[move.row_id], move.event)
            values = dict(move.changes) | _moved_columns(machine, move.event, to, move.at)
            by_columns.setdefault(tuple(values), []).append((move.row_id, current[move.row_id], *values.values()))
            done.append(Transition(move.row_id, move.event.value, current[move.row_id], to.value, move.at))
            event_rows.append(
                _event_row(machine, move.row_id, move.event, current[move.row_id], to, actor=actor,
                           reason=move.reason, at=move.at)
                | ({"data": json.dumps(dict(move.data))} if move.data is not None else {})
            )  # fmt: skip
        for columns, rows in by_columns.items():
            await _update_moved(table, columns, rows)
        for shape in {tuple(row) for row in event_rows}:
            await insert_many(event_table, shape, [tuple(row.values()) for row in event_rows if tuple(row) == shape])
        await record_many(_outbox_row(t, machine.entity, actor, m.reason) for t, m in zip(done, moves, strict=True))
    return done


async def _update_moved(table: type[Table], columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """One UPDATE of rows (id, status read, *columns), each only if its status is still the one read."""
    name = table._meta.tablename
    casts = ("integer", "text", *(table._meta.get_column_by_name(c).column_type for c in columns))
    sql = (
        f"WITH v(id, old_status, {', '.join(columns)}) AS (VALUES {values_list(rows, casts)}) "  # noqa: S608
        f"UPDATE {name} SET {', '.join(f'{c} = v.{c}' for c in columns)} FROM v "
        f"WHERE {name}.id = v.id AND {name}.status = v.old_status RETURNING {name}.id"
    )
    moved = await fetch(sql, *(value for row in rows for value in row))
    if len(moved) != len(rows):
        raise ConcurrentChange(f"Some {table._meta.tablename} rows changed while this was decided; try again.")
