"""State machines as data, and the one way a row moves between states.

Each entity declares a ``StateMachine``: the table ``{(from_state, event): to_state}`` and the ``*_at`` column
each event stamps. ``write_transition`` is the single writer every entity's ``transition()`` goes through: it
refuses illegal moves, updates the row only if its status is still the one it read (so two concurrent
changes cannot both win, on PostgreSQL and on SQLite alike), stamps the time, and writes the event row and
the outbox event in the same transaction. ``write_transitions`` is its set-based form for a batch (the renewal
run, the batch charger, dunning): the same table, stamps, event rows and outbox events, a few statements in
all, whatever the batch's size. ``insert_moved`` writes new rows already moved from the machine's first state
(the billing run's invoices, born finalized): the rows ``write_transitions`` would leave, without the UPDATE.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from piccolo.columns import JSON, JSONB, Column
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
    initial: S | None = None  # the state a new row starts in, for ``insert_moved``

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
    """One row's transition in a batch (``write_transitions``); ``changes`` are further columns, by name,
    ``data`` the event row's data column, ``payload`` further keys of the outbox event. ``keep_stamp`` leaves
    a stamp already set as it is (a cancellation asked for earlier and taking effect now keeps its time)."""

    row_id: int
    event: E
    at: datetime
    reason: str = ""
    changes: Mapping[str, Any] = field(default_factory=dict)
    data: Mapping[str, Any] | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)
    keep_stamp: bool = False


NEW = 0  # the row_id of a move on a row not inserted yet: ``insert_moved`` gives it the row's id
_Moved = tuple[int, Move[E], str, S]  # a move written: (row id, move, from status, to status)


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


def _outbox_row(
    transition: Transition, entity: str, actor: str, reason: str, extra: Mapping[str, Any] | None, now: datetime
) -> OutboxRow:
    payload = event_payload(transition.from_status, transition.to_status, actor, reason, transition.at)
    if extra:
        payload.update(extra)
    return f"{entity}.{transition.event}", entity, transition.row_id, payload, now


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
    payload: Mapping[str, Any] | None = None,
) -> Transition:
    """Move one row; call it inside the caller's transaction when other writes must commit with it. ``data``
    goes into the event row, ``payload`` (further keys) into the outbox event."""
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
        kind, aggregate, key, outbox_payload, _ = _outbox_row(done, machine.entity, actor, reason, payload, clock.now())
        await record(kind, aggregate, key, dict(outbox_payload))
    return done


async def write_transitions(
    machine: StateMachine[S, E],
    table: type[Table],
    event_table: type[Table],
    moves: Sequence[Move[E]],
    *,
    actor: str,
    on_commit: bool = True,
) -> list[Transition]:
    """``write_transition`` for many rows at once, set-based: one locking SELECT, one UPDATE per kind of move,
    one INSERT of event rows and one of outbox events, with the same rules, columns and rows. Every move must
    be allowed (else IllegalTransition and nothing is written); one move per row. ``on_commit=False`` leaves
    the outbox's on-commit handlers out (``record_many``), for changes nothing cached yet can have seen."""
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
        target = _targets(machine)
        by_columns: dict[tuple[tuple[str, ...], str | None], list[tuple[Any, ...]]] = {}
        moved: list[_Moved[E, S]] = []
        for move in moves:
            if move.row_id not in current:
                raise NotFound(f"There is no {machine.entity} #{move.row_id}.")
            to = target(current[move.row_id], move.event)
            values = dict(move.changes) | _moved_columns(machine, move.event, to, move.at)
            kept = machine.stamps.get(move.event) if move.keep_stamp else None
            by_columns.setdefault((tuple(values), kept), []).append(
                (move.row_id, current[move.row_id], *values.values())
            )
            moved.append((move.row_id, move, current[move.row_id], to))
        for (columns, kept), rows in by_columns.items():
            await _update_moved(table, columns, kept, rows)
        await _record_moved(machine, event_table, moved, actor=actor, on_commit=on_commit)
    return [_transition(*done) for done in moved]


async def insert_moved(
    machine: StateMachine[S, E],
    table: type[Table],
    event_table: type[Table],
    rows: Iterable[tuple[Mapping[str, Any], Iterable[Move[E]]]],
    *,
    actor: str,
    on_commit: bool = True,
) -> list[int]:
    """New rows (their columns by name, and the moves, on ``NEW``, that take each from the machine's
    ``initial`` state), inserted in the state the moves end in: status, stamps, changes, event rows and outbox
    events as ``write_transitions`` would leave rows inserted in ``initial`` and moved, one INSERT per table.
    (Measured on the billing run's renewal invoices: a draft INSERT and then an UPDATE cost a quarter more CPU.)
    Every move must be allowed (else IllegalTransition and nothing is written). Returns the ids, in order."""
    if machine.initial is None:
        raise ValueError(f"the {machine.entity} machine has no initial state")
    target, as_json = _targets(machine), _json_columns(table)
    shapes: dict[tuple[str, ...], list[int]] = {}  # the rows (their indexes) that set the same columns
    params: list[tuple[Any, ...]] = []
    steps: list[tuple[int, Move[E], str, S]] = []  # (row index, move, from, to)
    for index, (values, moves) in enumerate(rows):
        status = machine.initial.value
        columns = {**values, "status": status}
        for move in moves:
            if move.row_id != NEW:
                raise ValueError("moves on new rows are on NEW: the INSERT gives them their ids")
            to = target(status, move.event)
            columns.update(move.changes)
            columns.update(_moved_columns(machine, move.event, to, move.at))
            steps.append((index, move, status, to))
            status = to.value
        for name in as_json & columns.keys():
            columns[name] = _json_text(columns[name])
        shapes.setdefault(tuple(columns), []).append(index)
        params.append(tuple(columns.values()))
    ids: list[int] = [0] * len(params)
    async with write_transaction():
        for shape, indexes in shapes.items():
            inserted = await insert_many(table, shape, [params[i] for i in indexes], returning="id")
            # RETURNING gives the rows of a multi-row VALUES in their order (as record_many relies on).
            for i, row in zip(indexes, inserted, strict=True):
                ids[i] = row["id"]
        moved = ((ids[index], move, from_status, to) for index, move, from_status, to in steps)
        await _record_moved(machine, event_table, moved, actor=actor, on_commit=on_commit)
    return ids


async def _record_moved(
    machine: StateMachine[S, E],
    event_table: type[Table],
    moved: Iterable[_Moved[E, S]],
    *,
    actor: str,
    on_commit: bool,
) -> None:
    """The event rows (one INSERT per shape) and outbox events (one INSERT) of the moves written."""
    now = clock.now()
    outbox_rows = []
    event_rows: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    for row_id, move, from_status, to in moved:
        transition = _transition(row_id, move, from_status, to)
        row = _event_row(machine, row_id, move.event, from_status, to, actor=actor, reason=move.reason, at=move.at)
        if move.data is not None:
            row["data"] = json.dumps(dict(move.data))
        event_rows.setdefault(tuple(row), []).append(tuple(row.values()))
        outbox_rows.append(_outbox_row(transition, machine.entity, actor, move.reason, move.payload, now))
    for shape, rows in event_rows.items():
        await insert_many(event_table, shape, rows)
    await record_many(outbox_rows, on_commit=on_commit)


def _transition(row_id: int, move: Move[E], from_status: str, to: S) -> Transition:
    return Transition(row_id, move.event.value, from_status, to.value, move.at)


def _targets(machine: StateMachine[S, E]) -> Callable[[str, E], S]:
    """``machine.target``, remembered for one batch (the same few moves, hundreds of times)."""
    known: dict[tuple[str, E], S] = {}

    def target(current: str, event: E) -> S:
        if (current, event) not in known:
            known[current, event] = machine.target(current, event)
        return known[current, event]

    return target


def _json_columns(table: type[Table]) -> set[str]:
    return {column._meta.name for column in table._meta.columns if isinstance(column, JSON | JSONB)}


def _json_text(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, dict | list) else value  # JSON text (or NULL) already


def _params(table: type[Table], columns: Sequence[str], rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows of values as a raw statement takes them: a JSON column's values as JSON text."""
    as_json = _json_columns(table)
    json_at = [i for i, c in enumerate(columns) if c in as_json]
    if not json_at:
        return rows
    out = []
    for row in rows:
        values = list(row)
        for i in json_at:
            values[i] = _json_text(values[i])
        out.append(tuple(values))
    return out


async def _update_moved(
    table: type[Table], columns: tuple[str, ...], kept: str | None, rows: list[tuple[Any, ...]]
) -> None:
    """One UPDATE of rows (id, status read, *columns), each only if its status is still the one read; the
    ``kept`` column keeps a value already set."""
    name = table._meta.tablename
    rows = _params(table, ("id", "status", *columns), rows)
    casts = ("integer", "text", *(table._meta.get_column_by_name(c).column_type for c in columns))
    assignments = [f"{c} = COALESCE({name}.{c}, v.{c})" if c == kept else f"{c} = v.{c}" for c in columns]
    sql = (
        f"WITH v(id, old_status, {', '.join(columns)}) AS (VALUES {values_list(rows, casts)}) "  # noqa: S608
        f"UPDATE {name} SET {', '.join(assignments)} FROM v "
        f"WHERE {name}.id = v.id AND {name}.status = v.old_status RETURNING {name}.id"
    )
    moved = await fetch(sql, *(value for row in rows for value in row))
    if len(moved) != len(rows):
        raise ConcurrentChange(f"Some {table._meta.tablename} rows changed while this was decided; try again.")
