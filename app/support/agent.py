"""What support staff do to a ticket, from the console (/staff/support) or the admin's Support forms alike: each
change goes through the support service (its events, outbox, mail) and leaves an audit entry in the same
transaction, so an entry never describes a change that did not happen, and a refused change leaves neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from app.audit.service import actor_for_staff, record_audit
from app.db import write_transaction
from app.support import service
from app.support.access import staff_by_id
from app.support.states import Event, Status


class Unchanged(Enum):
    """An update that leaves the assignee as it is (None would mean: to nobody)."""

    assignee = "unchanged"


UNCHANGED = Unchanged.assignee


@dataclass(frozen=True, slots=True)
class Agent:
    """The staff member acting, as the event trails and the audit log record them."""

    user_id: int
    username: str
    ip: str = ""

    @property
    def actor(self) -> str:
        return actor_for_staff(self.user_id)


async def _audit(agent: Agent, action: str, ticket_id: int, after: dict[str, object]) -> None:
    await record_audit(action, actor=agent.actor, actor_label=agent.username, target_type="ticket",
                       target_id=ticket_id, after=after, ip=agent.ip)  # fmt: skip


async def reply(agent: Agent, ticket_id: int, body: str, *, internal: bool = False, then: str = Status.pending) -> int:
    """A public reply (e-mailed to the customer after the commit; the ticket becomes ``then``) or an internal
    note. Returns the message id."""
    async with write_transaction():
        message_id = await service.staff_reply(ticket_id, agent.user_id, body, internal=internal, then=then)
        await _audit(agent, "support.note_added" if internal else "support.replied", ticket_id,
                     {"message_id": message_id, "then": "" if internal else then})  # fmt: skip
    return message_id


async def update(
    agent: Agent,
    ticket_id: int,
    *,
    assign_to: int | Unchanged | None = UNCHANGED,
    priority: str = "",
    move: Event | None = None,
    reason: str = "by staff",
) -> list[str]:
    """Assign (None: to nobody), prioritise and move the ticket, all or nothing; what changed, in words."""
    done: list[str] = []
    async with write_transaction():
        if not isinstance(assign_to, Unchanged) and await service.assign(ticket_id, assign_to, actor=agent.actor):
            staff = await staff_by_id(assign_to) if assign_to is not None else None
            done.append(f"assigned to {staff.username if staff else 'nobody'}")
        if priority and await service.set_priority(ticket_id, priority, actor=agent.actor):
            done.append(f"priority {priority}")
        if move is not None:
            done.append(await service.move(ticket_id, move, actor=agent.actor, reason=reason))
        if done:
            await _audit(agent, "support.ticket_updated", ticket_id, {"changes": ", ".join(done)})
    return done
