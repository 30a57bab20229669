"""A ticket's life through the service the staff console will call: replies, assignment, priority, solving, and
the hourly job that closes what stayed solved for a week."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from piccolo.apps.user.tables import BaseUser

from app import clock
from app.accounts.staff import create_staff
from app.billing.errors import IllegalTransition
from app.settings import Settings
from app.support import service
from app.support.errors import StaffOnly, TicketClosed
from app.support.service import SupportDesk
from app.support.states import Event
from tables.accounts import Customer
from tables.outbox import OutboxEvent
from tables.support import Ticket, TicketEvent
from tasks.support import support_tick
from tests.portal import PASSWORD

START = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


async def status(ticket_id: int) -> str:
    row = await Ticket.select(Ticket.status).where(Ticket.id == ticket_id).first()
    assert row is not None
    return str(row["status"])


async def history(ticket_id: int) -> list[tuple[str, str, str]]:
    rows = await TicketEvent.select(TicketEvent.event, TicketEvent.from_status, TicketEvent.to_status).where(
        TicketEvent.ticket == ticket_id
    ).order_by(TicketEvent.id)  # fmt: skip
    return [(r["event"], r["from_status"], r["to_status"]) for r in rows]


@pytest.fixture
async def ticket(desk: SupportDesk, ada: Customer) -> int:
    with clock.frozen_at(START):
        return await service.open_ticket(desk, ada, subject="Pause my plan", category="billing", body="How?")


async def test_a_week_after_solving_the_hourly_job_closes_the_ticket(
    ticket: int, agent: BaseUser, settings: Settings
) -> None:
    solved_at = START + timedelta(hours=2)
    with clock.frozen_at(solved_at):
        await service.staff_reply(ticket, agent.id, "Account -> Subscriptions -> Pause.", then="solved")
    ctx: dict[str, Any] = {"settings": settings}
    with clock.frozen_at(solved_at + timedelta(days=7) - timedelta(seconds=1)):
        assert (await support_tick(ctx))["closed"] == 0
    assert await status(ticket) == "solved"
    with clock.frozen_at(solved_at + timedelta(days=7)):
        assert (await support_tick(ctx))["closed"] == 1
        assert (await support_tick(ctx))["closed"] == 0  # nothing left to close: the job may run again
    assert await status(ticket) == "closed"
    row = await Ticket.select(Ticket.closed_at, Ticket.solved_at).where(Ticket.id == ticket).first()
    assert row is not None
    assert clock.as_utc(row["solved_at"]) == solved_at
    assert clock.as_utc(row["closed_at"]) == solved_at + timedelta(days=7)
    assert (await history(ticket))[-2:] == [("solve", "new", "solved"), ("close", "solved", "closed")]
    closing = await TicketEvent.select(TicketEvent.actor, TicketEvent.reason).where(TicketEvent.event == "close")
    assert closing == [{"actor": "system:support", "reason": "solved 7 days ago"}]
    assert await OutboxEvent.exists().where(OutboxEvent.event_type == "ticket.close")


async def test_a_customer_reply_while_solved_keeps_the_ticket_from_closing(
    ticket: int, agent: BaseUser, desk: SupportDesk, ada: Customer, settings: Settings
) -> None:
    with clock.frozen_at(START + timedelta(hours=1)):
        await service.solve(ticket, actor="staff:1")
    with clock.frozen_at(START + timedelta(days=3)):
        await service.customer_reply(desk, ada.id, ticket, "Actually, it did not work.")
    assert await status(ticket) == "open"
    with clock.frozen_at(START + timedelta(days=30)):
        assert (await support_tick({"settings": settings}))["closed"] == 0
    assert await status(ticket) == "open"


async def test_the_states_table_refuses_what_it_does_not_list(ticket: int, agent: BaseUser, desk: SupportDesk) -> None:
    with pytest.raises(IllegalTransition):
        await service.move(ticket, Event.close, actor="staff:1")  # only a solved ticket closes
    with pytest.raises(IllegalTransition):
        await service.move(ticket, Event.reopen, actor="staff:1")  # a new ticket is on the desk already
    await service.solve(ticket, actor="staff:1")
    await service.move(ticket, Event.close, actor="staff:1")
    with pytest.raises(TicketClosed):
        await service.staff_reply(ticket, agent.id, "Hello?")
    assert await history(ticket) == [("create", "", "new"), ("solve", "new", "solved"), ("close", "solved", "closed")]


async def test_assignment_and_priority_leave_events_and_only_support_staff_take_tickets(
    ticket: int, agent: BaseUser, client: httpx.AsyncClient
) -> None:
    editor = await create_staff("ed", "ed@example.com", PASSWORD, "content")
    await service.assign(ticket, agent.id, actor="staff:9")
    await service.set_priority(ticket, "urgent", actor="staff:9")
    await service.assign(ticket, agent.id, actor="staff:9")  # no change, no event
    with pytest.raises(StaffOnly):
        await service.assign(ticket, editor.id, actor="staff:9")
    with pytest.raises(StaffOnly):
        await service.staff_reply(ticket, editor.id, "I edit the library, but let me answer")
    row = await Ticket.select(Ticket.assignee, Ticket.priority).where(Ticket.id == ticket).first()
    assert row == {"assignee": agent.id, "priority": "urgent"}
    events = await TicketEvent.select(TicketEvent.event, TicketEvent.reason).where(TicketEvent.event != "create")
    assert events == [{"event": "assign", "reason": "to sam"}, {"event": "set_priority", "reason": "normal -> urgent"}]
    assert await status(ticket) == "new"


async def test_the_first_public_reply_is_the_first_response(ticket: int, agent: BaseUser) -> None:
    with clock.frozen_at(START + timedelta(minutes=5)):
        await service.staff_reply(ticket, agent.id, "Looking into it", internal=True)
    with clock.frozen_at(START + timedelta(minutes=20)):
        await service.staff_reply(ticket, agent.id, "Here is how", then="open")
    with clock.frozen_at(START + timedelta(minutes=40)):
        await service.staff_reply(ticket, agent.id, "And one more thing")
    row = await Ticket.select(Ticket.first_response_at).where(Ticket.id == ticket).first()
    assert row is not None and clock.as_utc(row["first_response_at"]) == START + timedelta(minutes=20)
    assert await history(ticket) == [
        ("create", "", "new"),
        ("open", "new", "open"),
        ("await_customer", "open", "pending"),
    ]
