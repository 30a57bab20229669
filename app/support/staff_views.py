"""What the support console reads: the queue (filters, SLA, pages) and a whole ticket for staff (thread, history,
SLA, the moves its state allows, the customer's rating, their billing and the billing actions asked for).

The caller checks the staff member first (``app.support.access``). The time and the service-level policy are
arguments, so the same moment is used for every row of a page.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import reduce
from typing import Any

from piccolo.apps.user.tables import BaseUser
from piccolo.columns.combination import And, Or, Where
from piccolo.custom_types import Combinable
from piccolo.querystring import QueryString

from app import clock
from app.audit.service import actor_for_staff
from app.billing.overview import BillingOverview, customer_overview
from app.settings import BillingSettings
from app.support import csat, ticket_billing, views
from app.support.errors import TicketNotFound
from app.support.sla import SlaPolicy, TicketSla, breach_cutoffs, ticket_sla
from app.support.states import MACHINE, Event, Status
from tables.support import Ticket, TicketEvent

STAFF_PREFIX = actor_for_staff(0).removesuffix("0")  # "staff:"

PAGE_SIZE = 25
UNSOLVED = (Status.new, Status.open, Status.pending)
STATUS_FILTERS: dict[str, tuple[Status, ...]] = {
    "unsolved": UNSOLVED,
    **{status.value: (status,) for status in Status},
    "all": tuple(Status),
}
WAITING_ON_US = (Status.new, Status.open)
PRIORITIES = tuple(Ticket.Priority)
# Most urgent first; within a priority the oldest first, which is also the order their targets fall due in.
_RANKS = " ".join(f"WHEN '{p.value}' THEN {n}" for n, p in enumerate(reversed(PRIORITIES)))
_BY_PRIORITY = QueryString(f"CASE ticket.priority {_RANKS} END")
SORTS = {"priority": "Most urgent first", "oldest": "Oldest first", "updated": "Recently updated"}
# How the console names the moves the ticket states allow (app.support.states).
MOVE_LABELS = {
    Event.open: "Open",
    Event.await_customer: "Pending (waiting on the customer)",
    Event.solve: "Solved",
    Event.close: "Closed",
}
STAFF_MOVES = tuple(MOVE_LABELS)  # reopen is the customer's own move


@dataclass(frozen=True, slots=True)
class QueueFilter:
    status: str = "unsolved"
    priority: str = ""  # "": any
    assignee: str = ""  # "": anyone, "me", "none" (unassigned), or a staff user id
    waiting_on_us: bool = False
    breached: bool = False
    sort: str = "priority"
    page: int = 1

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> QueueFilter:
        """From the queue's query string; what is not understood falls back to the default."""
        default = cls()
        assignee = query.get("assignee", "")
        page = query.get("page", "1")
        return cls(
            status=query.get("status", "") if query.get("status", "") in STATUS_FILTERS else default.status,
            priority=query.get("priority", "") if query.get("priority", "") in PRIORITIES else "",
            assignee=assignee if assignee in ("", "me", "none") or assignee.isdigit() else "",
            waiting_on_us=query.get("waiting") in ("1", "on", "true"),
            breached=query.get("breached") in ("1", "on", "true"),
            sort=query.get("sort", "") if query.get("sort", "") in SORTS else default.sort,
            page=max(1, int(page)) if page.isdigit() else 1,
        )

    def query(self, **changes: Any) -> dict[str, str]:
        """The query string of this filter (with ``changes``), defaults left out: for links and page numbers."""
        chosen = replace(self, **changes)
        values = {
            "status": chosen.status, "priority": chosen.priority, "assignee": chosen.assignee,
            "waiting": "1" if chosen.waiting_on_us else "", "breached": "1" if chosen.breached else "",
            "sort": chosen.sort, "page": str(chosen.page),
        }  # fmt: skip
        defaults = {"status": "unsolved", "sort": "priority", "page": "1"}
        return {k: v for k, v in values.items() if v and defaults.get(k) != v}


@dataclass(frozen=True, slots=True)
class QueueRow:
    id: int
    subject: str
    requester: str
    verified: bool
    channel: str
    status: str
    priority: str
    assignee: str
    created_at: datetime
    updated_at: datetime
    sla: TicketSla


@dataclass(frozen=True, slots=True)
class QueuePage:
    filter: QueueFilter
    rows: list[QueueRow]
    total: int
    pages: int


def _conditions(chosen: QueueFilter, *, me: int, policy: SlaPolicy, now: datetime) -> list[Combinable]:
    statuses = STATUS_FILTERS[chosen.status]
    if chosen.waiting_on_us:
        statuses = tuple(s for s in statuses if s in WAITING_ON_US)
    if chosen.breached:
        statuses = tuple(s for s in statuses if s in UNSOLVED)
    where: list[Combinable] = [Ticket.status.is_in(list(statuses) or ["-"])]
    if chosen.priority:
        where.append(Ticket.priority == chosen.priority)
    if chosen.assignee == "none":
        where.append(Ticket.assignee.is_null())
    elif chosen.assignee:
        where.append(Ticket.assignee == (me if chosen.assignee == "me" else int(chosen.assignee)))
    if chosen.breached:
        # Past a target's due now, per priority (app.support.sla): unanswered past the first response's, or
        # unsolved past the resolution's.
        late: list[Combinable] = [
            (Ticket.priority == priority)
            & ((Ticket.first_response_at.is_null() & (Ticket.created_at <= cut.first_response))
               | (Ticket.created_at <= cut.resolution))
            for priority, cut in breach_cutoffs(policy, now).items()
        ]  # fmt: skip
        where.append(reduce(lambda a, b: Or(a, b), late))
    return where


def _sla(row: Mapping[str, Any], policy: SlaPolicy, now: datetime) -> TicketSla:
    def at(name: str) -> datetime | None:
        return clock.as_utc(row[name]) if row[name] else None

    return ticket_sla(
        policy, priority=row["priority"], status=row["status"], created_at=clock.as_utc(row["created_at"]),
        first_response_at=at("first_response_at"), solved_at=at("solved_at"), now=now,
    )  # fmt: skip


async def queue(
    chosen: QueueFilter, *, me: int, policy: SlaPolicy, now: datetime, page_size: int = PAGE_SIZE
) -> QueuePage:
    where = reduce(lambda a, b: And(a, b), _conditions(chosen, me=me, policy=policy, now=now))
    assert isinstance(where, (And, Or, Where))  # noqa: S101 - for mypy: a combination of conditions
    total = await Ticket.count().where(where)
    pages = max(1, math.ceil(total / page_size))
    query = Ticket.select(
        Ticket.id, Ticket.subject, Ticket.status, Ticket.priority, Ticket.channel, Ticket.verified,
        Ticket.requester_email, Ticket.created_at, Ticket.updated_at, Ticket.first_response_at, Ticket.solved_at,
        Ticket.customer.name.as_alias("customer_name"), Ticket.customer.email.as_alias("customer_email"),
        Ticket.assignee.username.as_alias("assignee_name"),
    ).where(where)  # fmt: skip
    if chosen.sort == "oldest":
        query = query.order_by(Ticket.created_at)
    elif chosen.sort == "updated":
        query = query.order_by(Ticket.updated_at, ascending=False)
    else:
        query = query.order_by(_BY_PRIORITY).order_by(Ticket.created_at)
    page = min(chosen.page, pages)
    rows = await query.order_by(Ticket.id).offset((page - 1) * page_size).limit(page_size)
    return QueuePage(
        filter=replace(chosen, page=page),
        rows=[
            QueueRow(
                id=r["id"], subject=r["subject"], requester=_requester(r), verified=r["verified"], channel=r["channel"],
                status=r["status"], priority=r["priority"], assignee=r["assignee_name"] or "",
                created_at=clock.as_utc(r["created_at"]), updated_at=clock.as_utc(r["updated_at"]),
                sla=_sla(r, policy, now),
            )
            for r in rows
        ],
        total=total,
        pages=pages,
    )  # fmt: skip


def _requester(row: Mapping[str, Any]) -> str:
    if row["customer_name"]:
        return f"{row['customer_name']} <{row['customer_email']}>"
    return row["requester_email"] or "unknown sender"


# --- one ticket -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Customer:
    id: int
    name: str
    email: str


@dataclass(frozen=True, slots=True)
class HistoryItem:
    event: str
    from_status: str
    to_status: str
    actor: str
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class StaffTicket:
    ticket: views.TicketView
    customer: Customer | None
    assignee: str
    sla: TicketSla
    moves: list[tuple[str, str]]  # (event, label) the ticket's state allows staff now
    history: list[HistoryItem]
    rating: csat.RatingView | None
    billing: BillingOverview | None  # None: no customer account (an unverified sender)
    billing_requests: list[ticket_billing.RequestView]  # billing actions asked for from this ticket, newest first

    @property
    def requester_email(self) -> str:
        return self.customer.email if self.customer else self.ticket.requester_email


async def _staff_names(actors: set[str]) -> dict[str, str]:
    """Event actors ``staff:<id>`` by their usernames (customers and the system keep their labels)."""
    ids = [int(a.removeprefix(STAFF_PREFIX)) for a in actors if a.startswith(STAFF_PREFIX) and a[6:].isdigit()]
    rows = await BaseUser.select(BaseUser.id, BaseUser.username).where(BaseUser.id.is_in(ids or [0]))
    return {f"{STAFF_PREFIX}{r['id']}": str(r["username"]) for r in rows}


async def staff_ticket(ticket_id: int, *, policy: SlaPolicy, billing: BillingSettings, now: datetime) -> StaffTicket:
    view = await views.ticket_for_staff(ticket_id)
    row = await Ticket.select(
        Ticket.priority, Ticket.status, Ticket.created_at, Ticket.first_response_at, Ticket.solved_at,
        Ticket.customer.name.as_alias("customer_name"), Ticket.customer.email.as_alias("customer_email"),
        Ticket.assignee.username.as_alias("assignee_name"),
    ).where(Ticket.id == ticket_id).first()  # fmt: skip
    if row is None:
        raise TicketNotFound(f"There is no ticket #{ticket_id}.")
    events = await TicketEvent.select().where(TicketEvent.ticket == ticket_id).order_by(TicketEvent.id)
    names = await _staff_names({e["actor"] for e in events})
    customer = Customer(view.customer_id, row["customer_name"], row["customer_email"]) if view.customer_id else None
    return StaffTicket(
        ticket=view,
        customer=customer,
        assignee=row["assignee_name"] or "",
        sla=_sla(row, policy, now),
        moves=[(e.value, MOVE_LABELS[e]) for e in MACHINE.events_from(view.status) if e in STAFF_MOVES],
        history=[
            HistoryItem(
                e["event"],
                e["from_status"],
                e["to_status"],
                names.get(e["actor"], e["actor"]),
                e["reason"],
                clock.as_utc(e["occurred_at"]),
            )
            for e in events
        ],
        rating=await csat.latest_rating(ticket_id),
        billing=await customer_overview(customer.id, billing) if customer else None,
        billing_requests=await ticket_billing.requests_on(ticket_id),
    )
