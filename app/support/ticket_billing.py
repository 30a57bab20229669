"""Billing actions from a ticket (the console's billing panel): resend a receipt, retry a payment, pause or
resume, extend a trial, a goodwill credit, a refund, on the ticket's own customer.

- A staff member whose role may run the action (``app.admin_permissions.may``) runs it at once, through the same
  code as the admin's staff-action forms (``app.billing.staff_actions``).
- Anybody else working the ticket (a support agent) requests it instead: a ``BillingActionRequest`` that billing
  staff approve (the action then runs as the approver) or reject with a reason, at /staff/billing/requests. A
  request is decided once (its row is locked and it moves through ``request_states``), never by its requester.

Whatever happens is recorded here, in one place: an internal note on the ticket (by the staff member who ran it,
else by the system) and an audit entry, written together in one transaction once the action is done (PayPal is
never called inside an open transaction, so the note follows the action rather than sharing its transaction).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from piccolo.apps.user.tables import BaseUser

from app import clock
from app.admin_permissions import may
from app.audit.service import record_audit
from app.billing import staff_actions
from app.billing.staff_actions import NEEDS, BillingAction, Kind, Means
from app.db import locked_row, write_transaction
from app.errors import DomainError, InvalidInput, PermissionDenied
from app.statemachine import write_transition
from app.support import service
from app.support.agent import Agent
from app.support.errors import (
    BillingRequestNotFound,
    OwnRequest,
    RequestDecided,
    TicketClosed,
    TicketNotFound,
)
from app.support.request_states import MACHINE, Event, Status
from tables.support import BillingActionRequest, BillingActionRequestEvent, Ticket

MAX_REASON = 500
NO_REASON_NEEDED = {Kind.resend_receipt}  # run at once: the receipt itself says what was done
REQUESTS_SHOWN = 50
MAX_ID = 2**31 - 1  # ids are PostgreSQL integers: a longer number names nothing (and must not reach the query)


@dataclass(frozen=True, slots=True)
class ActionForm:
    """What the ticket's billing panel sends, as typed: ``amount`` like 4.00 (empty: all of it), ``trial_end`` a
    day (YYYY-MM-DD) on the desk's calendar."""

    kind: str
    target: str
    amount: str = ""
    trial_end: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the staff member is told: ``ok`` False when the action ran but what it is for did not happen (PayPal
    declined the charge or refused the refund), or an approved request failed."""

    message: str
    ok: bool = True
    request_id: int | None = None  # the request made, when the action was requested rather than run


def runs_at_once(role: str | None) -> dict[str, bool]:
    """Each action kind: True when ``role`` runs it at once, False when it is requested (the panel's buttons)."""
    return {kind.value: may(role, need) for kind, need in NEEDS.items()}


async def _audit(agent: Agent, action: str, target_type: str, target_id: int, after: dict[str, Any]) -> None:
    await record_audit(action, actor=agent.actor, actor_label=agent.username, target_type=target_type,
                       target_id=target_id, after=after, ip=agent.ip)  # fmt: skip


def _with_reason(text: str, reason: str) -> str:
    return f"{text}: {reason}" if reason else text


# --- from the ticket --------------------------------------------------------------------------------------


async def _checked(form: ActionForm, ticket_id: int, zone: ZoneInfo) -> tuple[BillingAction, str, int]:
    """The action the form describes, on the ticket's own customer, its reason and the customer; refusals in
    plain words."""
    if form.kind not in Kind.__members__:
        raise InvalidInput("Choose a billing action.", code="action_unknown")
    kind = Kind(form.kind)
    if not form.target.strip().isdigit() or int(form.target) > MAX_ID:
        raise InvalidInput("Choose what to act on.", code="target_missing")
    ticket = await Ticket.select(Ticket.customer, Ticket.status).where(Ticket.id == ticket_id).first()
    if ticket is None:
        raise TicketNotFound(f"There is no ticket #{ticket_id}.")
    if ticket["status"] == Ticket.Status.closed:
        raise TicketClosed(f"Ticket #{ticket_id} is closed: act on the customer's billing from a ticket that is not.")
    target = await staff_actions.target_of(kind, int(form.target))
    if ticket["customer"] is None or target.customer_id != ticket["customer"]:
        raise InvalidInput(f"The {target.label} is not this ticket's customer's.", code="not_this_customer")
    reason = " ".join(form.reason.split())
    if not reason and kind not in NO_REASON_NEEDED:
        raise InvalidInput("Say why (the customer's ticket and the audit log keep it).", code="reason_missing")
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"Keep the reason under {MAX_REASON} characters.", code="reason_too_long")
    amount = staff_actions.money(form.amount, target.currency) if kind in (Kind.refund, Kind.goodwill_credit) else None
    trial_end = None
    if kind == Kind.extend_trial:
        try:
            day = date.fromisoformat(form.trial_end.strip())
        except ValueError as exc:
            raise InvalidInput("Choose the day the trial should end.", code="trial_end_missing") from exc
        trial_end = staff_actions.on_day(day, target.trial_end, zone)
    return BillingAction(kind, int(form.target), amount, trial_end, target.label), reason, target.customer_id


async def act(agent: Agent, role: str | None, ticket_id: int, form: ActionForm, *, means: Means,
              zone: ZoneInfo) -> Outcome:  # fmt: skip
    """Run the action the ticket's panel asks for, or request it when ``role`` may not run it."""
    action, reason, customer_id = await _checked(form, ticket_id, zone)
    if may(role, action.needs):
        done = await staff_actions.run(means, action, actor=agent.actor, reason=reason)
        async with write_transaction():
            await service.record_note(ticket_id, _with_reason(done.summary, reason), staff_user_id=agent.user_id)
            await staff_actions.record(done, actor=agent.actor, actor_label=agent.username, ip=agent.ip,
                                       ticket_id=ticket_id)  # fmt: skip
        return Outcome(done.message, done.ok)
    if not reason:
        raise InvalidInput("Say why: billing staff decide on your reason.", code="reason_missing")
    described = action.describe()
    async with write_transaction():
        rows = await BillingActionRequest.insert(
            BillingActionRequest(
                ticket=ticket_id, customer=customer_id, kind=action.kind.value, params=action.params(),
                reason=reason, status=Status.requested, requested_by=agent.user_id, created_at=clock.now(),
            )
        ).returning(BillingActionRequest.id)  # fmt: skip
        request_id = int(rows[0]["id"])
        await service.record_note(ticket_id, f"Requested: {_with_reason(described, reason)} (for billing staff to "
                                  "approve)", staff_user_id=agent.user_id)  # fmt: skip
        after = {"request_id": request_id, "kind": action.kind.value, "action": described, "reason": reason}
        await _audit(agent, "support.billing_action_requested", "ticket", ticket_id, after)
    return Outcome(f"Requested: {described}. Billing staff approve or reject it; the outcome is noted here.",
                   request_id=request_id)  # fmt: skip


# --- billing staff decide ------------------------------------------------------------------------------------


async def _usernames(*user_ids: int | None) -> dict[int, str]:
    ids = [i for i in user_ids if i is not None]
    rows = await BaseUser.select(BaseUser.id, BaseUser.username).where(BaseUser.id.is_in(ids or [0]))
    return {r["id"]: str(r["username"]) for r in rows}


async def _decidable(decider: Agent, role: str | None, request_id: int) -> tuple[dict[str, Any], BillingAction]:
    """Inside the caller's transaction: the request, locked (a second decision waits here for the first to
    commit, then finds it decided), still requested, not the decider's own, and within the decider's role."""
    row = await locked_row(BillingActionRequest, request_id)
    if row is None:
        raise BillingRequestNotFound(f"There is no billing action request #{request_id}.")
    action = BillingAction.of(row["kind"], _as_json(row["params"]))
    if row["status"] != Status.requested:
        names = await _usernames(row["decided_by"])
        by = f" by {names[row['decided_by']]}" if row["decided_by"] in names else ""
        raise RequestDecided(f"Request #{request_id} ({action.describe()}) was {row['status']}{by} already; "
                             "nothing was done again.")  # fmt: skip
    if row["requested_by"] == decider.user_id:
        raise OwnRequest("You asked for this yourself: another billing staff member decides it.")
    if not may(role, action.needs):
        raise PermissionDenied(f"Your role ({role or 'none'}) may not {action.needs}.")
    return row, action


async def _decide(row: Mapping[str, Any], event: Event, decider: Agent, *, reason: str, result: str) -> None:
    await write_transition(
        MACHINE, BillingActionRequest, BillingActionRequestEvent, row["id"], event, actor=decider.actor,
        at=clock.now(), reason=reason,
        changes={BillingActionRequest.decided_by: decider.user_id, BillingActionRequest.result: result},
    )  # fmt: skip


def _as_json(params: Any) -> dict[str, Any]:
    """A JSON column as read without ``load_json`` (text), or already loaded."""
    return dict(json.loads(params) if isinstance(params, str) else params)


async def approve(approver: Agent, role: str | None, request_id: int, *, means: Means) -> Outcome:
    """Approve a request: it is claimed (approved) in a short transaction of its own, then its action runs as the
    approver, then the outcome is recorded on the request, the ticket and the audit log."""
    async with write_transaction():
        row, action = await _decidable(approver, role, request_id)
        await _decide(row, Event.approve, approver, reason="", result="")
        await _audit(approver, "billing.request_approved", "billing_action_request", request_id,
                     {"ticket_id": row["ticket"], "action": action.describe()})  # fmt: skip
    names = await _usernames(row["requested_by"])
    who = f"requested by {names.get(row['requested_by'], 'a former staff member')}, approved by {approver.username}"
    try:
        done = await staff_actions.run(means, action, actor=approver.actor, reason=row["reason"])
    except DomainError as error:
        refused = f"{action.describe()} was refused: {error.detail}"
        async with write_transaction():
            await _fail(row, approver, error.detail)
            await service.record_note(row["ticket"], f"{action.describe()} ({who}) was refused: {error.detail}")
            await _audit(approver, "billing.request_failed", "billing_action_request", request_id,
                         {"ticket_id": row["ticket"], "refusal": refused})  # fmt: skip
        return Outcome(refused, ok=False)
    async with write_transaction():
        if done.ok:
            await BillingActionRequest.update({BillingActionRequest.result: done.summary}).where(
                BillingActionRequest.id == request_id
            )  # fmt: skip
        else:
            await _fail(row, approver, done.summary)
        await service.record_note(row["ticket"], f"{_with_reason(done.summary, row['reason'])} ({who})")
        await staff_actions.record(done, actor=approver.actor, actor_label=approver.username, ip=approver.ip,
                                   ticket_id=row["ticket"], request_id=request_id)  # fmt: skip
    return Outcome(done.message, done.ok)


async def _fail(row: Mapping[str, Any], approver: Agent, why: str) -> None:
    await write_transition(
        MACHINE, BillingActionRequest, BillingActionRequestEvent, row["id"], Event.fail, actor=approver.actor,
        at=clock.now(), reason=why[:2000], changes={BillingActionRequest.result: why},
    )  # fmt: skip


async def reject(decider: Agent, role: str | None, request_id: int, reason: str) -> Outcome:
    """Say no, with the reason the requester reads on the ticket."""
    reason = " ".join(reason.split())
    if not reason or len(reason) > MAX_REASON:
        raise InvalidInput(f"Say why it is rejected (under {MAX_REASON} characters): the agent tells the customer.",
                           code="reason_missing")  # fmt: skip
    async with write_transaction():
        row, action = await _decidable(decider, role, request_id)
        await _decide(row, Event.reject, decider, reason=reason, result=reason)
        names = await _usernames(row["requested_by"])
        asked = names.get(row["requested_by"], "a former staff member")
        await service.record_note(row["ticket"], f"{action.describe()} (requested by {asked}) was rejected by "
                                  f"{decider.username}: {reason}")  # fmt: skip
        await _audit(decider, "billing.request_rejected", "billing_action_request", request_id,
                     {"ticket_id": row["ticket"], "action": action.describe(), "reason": reason})  # fmt: skip
    return Outcome(f"Rejected: {action.describe()}. The ticket says why.")


# --- reads ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequestView:
    id: int
    ticket_id: int
    ticket_subject: str
    customer_name: str
    customer_email: str
    kind: str
    description: str
    reason: str
    status: str
    requested_by: str
    requested_by_id: int | None
    requested_at: datetime
    decided_by: str
    decided_at: datetime | None
    result: str

    @property
    def open(self) -> bool:
        return self.status == Status.requested


async def _views(where: Any, *, newest_first: bool, limit: int = REQUESTS_SHOWN) -> list[RequestView]:
    req = BillingActionRequest
    rows = await req.select(
        req.id, req.ticket, req.ticket.subject.as_alias("subject"), req.customer.name.as_alias("customer_name"),
        req.customer.email.as_alias("customer_email"), req.kind, req.params, req.reason, req.status,
        req.requested_by, req.requested_by.username.as_alias("requester"), req.created_at,
        req.decided_by.username.as_alias("decider"), req.decided_at, req.result,
    ).where(where).order_by(req.id, ascending=not newest_first).limit(limit)  # fmt: skip
    return [
        RequestView(
            id=r["id"], ticket_id=r["ticket"], ticket_subject=r["subject"] or "",
            customer_name=r["customer_name"] or "", customer_email=r["customer_email"] or "", kind=r["kind"],
            description=BillingAction.of(r["kind"], _as_json(r["params"])).describe(), reason=r["reason"],
            status=r["status"], requested_by=r["requester"] or "a former staff member",
            requested_by_id=r["requested_by"],
            requested_at=clock.as_utc(r["created_at"]), decided_by=r["decider"] or "",
            decided_at=clock.as_utc(r["decided_at"]) if r["decided_at"] else None, result=r["result"],
        )
        for r in rows
    ]  # fmt: skip


async def requests_on(ticket_id: int) -> list[RequestView]:
    """The ticket's requests, newest first (shown in its billing panel)."""
    return await _views(BillingActionRequest.ticket == ticket_id, newest_first=True)


async def waiting() -> list[RequestView]:
    """Requests to decide, the oldest first (billing staff's list)."""
    return await _views(BillingActionRequest.status == Status.requested, newest_first=False)


async def decided() -> list[RequestView]:
    """The latest decided requests, newest first."""
    return await _views(BillingActionRequest.status != Status.requested, newest_first=True)
