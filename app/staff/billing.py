"""Billing in the staff console: what the billing actions reach from a request (``billing_means``; the ticket
panel's route is in ``app.staff.support``), and the billing action requests billing staff decide at
/staff/billing/requests (``app.support.ticket_billing``: approving runs the action, as the approver).

Answers as the support console's: under htmx the list is swapped in place, refusals shown in it (htmx swaps only
2xx answers); without it, a redirect with a flash message, or the page with the refusal and its status.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from litestar.params import FromPath
from litestar.plugins.flash import flash
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template

from app.billing.staff_actions import Means
from app.errors import DomainError
from app.staff.auth import acting, staff_of, works_on
from app.staff.pages import staff_page
from app.support import ticket_billing
from app.support.ticket_billing import Outcome
from app.web import AnyRequest, Form, app_settings, gateway, see_other
from tables.support import BillingActionRequest, Ticket

REQUESTS = "/staff/billing/requests"


def billing_means(request: AnyRequest) -> Means:
    """The app's settings, PayPal gateway and job queue, as the billing actions use them."""
    return Means(app_settings(request), gateway(request), request.app.state.queue)


class BillingRequests(Controller):
    path = "/billing/requests"
    include_in_schema = False
    guards = [works_on(BillingActionRequest)]

    async def _page(self, request: AnyRequest, **extra: Any) -> dict[str, Any]:
        return {
            "waiting": await ticket_billing.waiting(),
            "decided": await ticket_billing.decided(),
            "may_open_tickets": staff_of(request).may(Ticket),
            "done": "",
            "ok": True,
            "error": "",
            **extra,
        }

    @get("/", name="staff:billing_requests")
    async def requests(self, request: HTMXRequest) -> Template:
        return staff_page(request, "staff/billing/requests.html", await self._page(request))

    async def _answer(
        self, request: HTMXRequest, outcome: Outcome | None, error: DomainError | None
    ) -> Template | Redirect:
        if error is not None:
            context = await self._page(request, error=error.detail)
            if request.htmx:
                return staff_page(request, "staff/billing/_requests.html", context)
            return staff_page(request, "staff/billing/requests.html", context, status_code=error.status)
        assert outcome is not None  # noqa: S101 - an outcome or a refusal
        if request.htmx:
            context = await self._page(request, done=outcome.message, ok=outcome.ok)
            return staff_page(request, "staff/billing/_requests.html", context)
        flash(request, outcome.message, category="success" if outcome.ok else "warning")
        return see_other(REQUESTS)

    @post("/{request_id:int}/approve")
    async def approve(self, request: HTMXRequest, request_id: FromPath[int]) -> Template | Redirect:
        """Run the requested action now, as the approver; the outcome goes on the request, the ticket and the
        audit log. A request already decided (a second approval racing the first) changes nothing."""
        try:
            outcome = await ticket_billing.approve(acting(request), staff_of(request).role, request_id,
                                                   means=billing_means(request))  # fmt: skip
        except DomainError as error:
            return await self._answer(request, None, error)
        return await self._answer(request, outcome, None)

    @post("/{request_id:int}/reject")
    async def reject(self, request: HTMXRequest, request_id: FromPath[int], data: Form) -> Template | Redirect:
        try:
            outcome = await ticket_billing.reject(acting(request), staff_of(request).role, request_id,
                                                  data.get("reason", ""))  # fmt: skip
        except DomainError as error:
            return await self._answer(request, None, error)
        return await self._answer(request, outcome, None)
