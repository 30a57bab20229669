"""The support console at /staff/support: the queue, a ticket's workspace (thread, reply or internal note,
canned replies, assignment, priority, status, SLA, the customer's billing) and the satisfaction figures.

Reads come from ``app.support.staff_views`` and ``csat``; every change goes through ``app.support.agent`` (the
support service, audited). Under htmx a change answers with the ticket's workspace, refusals inline (htmx swaps
only 2xx answers); without it, with a redirect to the ticket page and a flash message, or the page with the
refusal and its status.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar import Controller, get, post
from litestar.params import FromPath
from litestar.plugins.flash import flash
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template

from app import clock
from app.admin_permissions import Action
from app.errors import DomainError
from app.staff.auth import acting, staff_of, works_on
from app.staff.billing import billing_means
from app.staff.pages import desk_zone, staff_page
from app.support import agent, canned, csat, staff_views, ticket_billing
from app.support.access import support_team
from app.support.agent import UNCHANGED, Unchanged
from app.support.errors import StaffOnly, TicketFormError, TicketNotFound
from app.support.help import service as help_centre
from app.support.service import AFTER_REPLY, MAX_MESSAGE
from app.support.sla import SlaPolicy
from app.support.states import Event
from app.web import AnyRequest, Form, app_settings, see_other
from tables.support import Ticket

REPORT_DAYS = (7, 30, 90)
WORST_RATED_SHOWN = 10


def _policy(request: AnyRequest) -> SlaPolicy:
    return SlaPolicy.from_settings(app_settings(request).sla)


async def _workspace_context(request: AnyRequest, ticket_id: int, **extra: Any) -> dict[str, Any]:
    settings = app_settings(request)
    workspace = await staff_views.staff_ticket(ticket_id, policy=_policy(request), billing=settings.billing,
                                               now=clock.now())  # fmt: skip
    return {
        "ws": workspace,
        "team": await support_team(),
        "canned_replies": await canned.active_replies(),
        "priorities": staff_views.PRIORITIES,
        "then_choices": list(AFTER_REPLY),
        "max_message": MAX_MESSAGE,
        "scores": csat.SCORES,
        "may_write": staff_of(request).may(Ticket, Action.update),
        "runs_at_once": ticket_billing.runs_at_once(staff_of(request).role),
        "values": {},
        "errors": {},
        "form_error": "",
        "billing_done": "",
        "billing_ok": True,
        "billing_error": "",
        "billing_values": {},
        **extra,
    }


async def _filled(request: AnyRequest, canned_id: int, ticket_id: int) -> str:
    site_name = app_settings(request).site_name
    return await canned.filled_reply(canned_id, ticket_id, agent_user_id=staff_of(request).user_id, site_name=site_name)


def _refusal(error: DomainError) -> dict[str, Any]:
    if isinstance(error, TicketFormError):
        return {"errors": error.fields, "form_error": ""}
    return {"errors": {}, "form_error": error.detail}


class SupportConsole(Controller):
    path = "/support"
    include_in_schema = False
    guards = [works_on(Ticket)]

    @get("/", name="staff:support")
    async def queue(self, request: HTMXRequest) -> Template:
        chosen = staff_views.QueueFilter.parse(request.query_params)
        page = await staff_views.queue(chosen, me=staff_of(request).user_id, policy=_policy(request), now=clock.now())
        context = {"page": page, "team": await support_team(), "statuses": staff_views.STATUS_FILTERS,
                   "priorities": staff_views.PRIORITIES, "sorts": staff_views.SORTS}  # fmt: skip
        # htmx swaps the list alone; a boosted link or a restore from its history wants the whole page.
        partial = request.htmx and not (request.htmx.boosted or request.htmx.history_restore_request)
        template = "staff/support/_queue.html" if partial else "staff/support/queue.html"
        return staff_page(request, template, context, headers={"Vary": "HX-Request"})

    @get("/tickets/{ticket_id:int}", name="staff:ticket")
    async def ticket(self, request: AnyRequest, ticket_id: FromPath[int]) -> Template:
        """The workspace; ``?canned=<id>`` puts that canned reply into the composer (the link without htmx)."""
        chosen = request.query_params.get("canned", "")
        values = {"body": await _filled(request, int(chosen), ticket_id)} if chosen.isdigit() else {}
        context = await _workspace_context(request, ticket_id, values=values)
        return staff_page(request, "staff/support/ticket.html", context)

    async def _answer(
        self, request: HTMXRequest, ticket_id: int, done: str, error: DomainError | None, values: dict[str, str],
        *, billing: dict[str, Any] | None = None,
    ) -> Template | Redirect:  # fmt: skip
        """The workspace after a change (htmx), or the ticket page: redirected after a change, with the refusal.
        ``billing``: the billing panel's answer (shown there, not at the top: a missing payment is its refusal)."""
        if error is not None and (error.status == 404 if billing is None else isinstance(error, TicketNotFound)):
            raise error
        extra = {"values": values, **_refusal(error)} if error else {"done": done}
        if billing is not None:
            extra = billing
        context = await _workspace_context(request, ticket_id, **extra)
        if request.htmx:
            return staff_page(request, "staff/support/_workspace.html", context)
        if error is None:
            flash(request, done, category="success" if (billing or {}).get("billing_ok", True) else "warning")
            return see_other(f"/staff/support/tickets/{ticket_id}")
        return staff_page(request, "staff/support/ticket.html", context, status_code=error.status)

    @post("/tickets/{ticket_id:int}/messages")
    async def message(self, request: HTMXRequest, ticket_id: FromPath[int], data: Form) -> Template | Redirect:
        """A public reply (``kind=reply``, e-mailed; the ticket becomes ``then``) or an internal note."""
        internal = data.get("kind") == "note"
        then = data.get("then", "pending")
        try:
            await agent.reply(acting(request), ticket_id, data.get("body", ""), internal=internal, then=then)
        except DomainError as error:
            return await self._answer(request, ticket_id, "", error, {"body": data.get("body", ""), "then": then})
        done = "Internal note added." if internal else f"Reply sent to the customer; the ticket is {then}."
        return await self._answer(request, ticket_id, done, None, {})

    async def _update(
        self, request: HTMXRequest, ticket_id: int, *, assign_to: int | Unchanged | None = UNCHANGED,
        priority: str = "", move: Event | None = None,
    ) -> Template | Redirect:  # fmt: skip
        try:
            done = await agent.update(acting(request), ticket_id, assign_to=assign_to, priority=priority, move=move)
        except DomainError as error:
            return await self._answer(request, ticket_id, "", error, {})
        return await self._answer(
            request, ticket_id, f"Ticket #{ticket_id}: {', '.join(done) or 'no change'}.", None, {}
        )

    @post("/tickets/{ticket_id:int}/assign")
    async def assign(self, request: HTMXRequest, ticket_id: FromPath[int], data: Form) -> Template | Redirect:
        """``assignee``: "me", a staff user id, or "" for nobody."""
        chosen = data.get("assignee", "")
        if chosen == "me":
            assignee: int | None = staff_of(request).user_id
        elif chosen.isdigit():
            assignee = int(chosen)
        elif chosen == "":
            assignee = None
        else:
            return await self._answer(request, ticket_id, "", StaffOnly("Choose a support staff member."), {})
        return await self._update(request, ticket_id, assign_to=assignee)

    @post("/tickets/{ticket_id:int}/priority")
    async def priority(self, request: HTMXRequest, ticket_id: FromPath[int], data: Form) -> Template | Redirect:
        chosen = data.get("priority", "")
        if chosen not in staff_views.PRIORITIES:
            return await self._answer(request, ticket_id, "", TicketFormError({"priority": "Choose a priority."}), {})
        return await self._update(request, ticket_id, priority=chosen)

    @post("/tickets/{ticket_id:int}/status")
    async def status(self, request: HTMXRequest, ticket_id: FromPath[int], data: Form) -> Template | Redirect:
        """``event``: one of the moves the ticket's state allows (app.support.states)."""
        chosen = data.get("event", "")
        if chosen not in staff_views.STAFF_MOVES:
            return await self._answer(request, ticket_id, "", TicketFormError({"event": "Choose a status."}), {})
        return await self._update(request, ticket_id, move=Event(chosen))

    @post("/tickets/{ticket_id:int}/billing")
    async def billing_action(self, request: HTMXRequest, ticket_id: FromPath[int], data: Form) -> Template | Redirect:
        """A billing action from the panel beside the thread: run at once, or requested for billing staff
        (``app.support.ticket_billing``); the outcome and refusals are shown in the panel."""
        form = ticket_billing.ActionForm(kind=data.get("kind", ""), target=data.get("target", ""),
                                         amount=data.get("amount", ""), trial_end=data.get("trial_end", ""),
                                         reason=data.get("reason", ""))  # fmt: skip
        try:
            outcome = await ticket_billing.act(acting(request), staff_of(request).role, ticket_id, form,
                                               means=billing_means(request), zone=desk_zone(request))  # fmt: skip
        except DomainError as error:
            refused = {"billing_error": error.detail, "billing_values": data}
            return await self._answer(request, ticket_id, "", error, {}, billing=refused)
        answer = {"billing_done": outcome.message, "billing_ok": outcome.ok}
        return await self._answer(request, ticket_id, outcome.message, None, {}, billing=answer)

    @get("/tickets/{ticket_id:int}/canned/{canned_id:int}", name="staff:canned")
    async def canned_reply(self, request: AnyRequest, ticket_id: FromPath[int], canned_id: FromPath[int]) -> Template:
        """The composer with a canned reply filled in for this ticket, to edit before sending."""
        text = await _filled(request, canned_id, ticket_id)
        return staff_page(request, "staff/support/_composer_body.html", {"body": text, "max_message": MAX_MESSAGE})

    @get("/satisfaction", name="staff:satisfaction")
    async def satisfaction(self, request: AnyRequest) -> Template:
        days = request.query_params.get("days", "30")
        span = int(days) if days.isdigit() and int(days) in REPORT_DAYS else 30
        until = clock.now()
        report = await csat.report(until - timedelta(days=span), until)
        context = {"report": report, "days": span, "spans": REPORT_DAYS, "scores": csat.SCORES,
                   "worst_rated": await help_centre.worst_rated(WORST_RATED_SHOWN)}  # fmt: skip
        return staff_page(request, "staff/support/satisfaction.html", context)
