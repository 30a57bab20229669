"""Portal pages for subscribing (pricing page -> PayPal -> back, live) and managing subscriptions."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from litestar import Controller, get, post
from litestar.di import Provide
from litestar.params import FromPath, FromQuery
from litestar.plugins.flash import flash
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template

from app.accounts.auth import CurrentCustomer, provide_customer
from app.errors import DomainError, NotFound
from app.payments.customer import PaymentProblem
from app.settings import TrialEligibility
from app.subscriptions import checkout, manage, trials
from app.web import AnyRequest, Form, app_settings, away, see_other
from app.web import actor as _actor
from app.web import base_url as _base_url
from app.web import gateway as _gateway
from tables.accounts import Customer

LIST = "/account/subscriptions"


class SubscribePortal(Controller):
    path = "/subscribe"
    include_in_schema = False
    dependencies = {"customer": Provide(provide_customer)}

    @get("/{plan_code:str}", name="subscribe")
    async def confirm_page(self, request: AnyRequest, customer: CurrentCustomer, plan_code: FromPath[str]) -> Template:
        return await _subscribe_page(request, customer, plan_code)

    @post("/{plan_code:str}")
    async def subscribe(
        self, request: AnyRequest, customer: CurrentCustomer, plan_code: FromPath[str]
    ) -> Template | Redirect:
        try:
            target = await checkout.begin(
                _gateway(request), customer, plan_code, base_url=_base_url(request), actor=_actor(customer),
                trial_policy=_trial_policy(request),
            )  # fmt: skip
        except DomainError as error:  # a refusal, or PayPal's trouble in the customer's words (PaymentProblem)
            return await _subscribe_page(request, customer, plan_code, error)
        if target is None:
            flash(request, "Your subscription is live.", category="success")
            return see_other(LIST)
        return away(target)

    @get("/trial/{subscription_id:int}/return")
    async def trial_approved(
        self,
        request: AnyRequest,
        customer: CurrentCustomer,
        subscription_id: FromPath[int],
        approval_token_id: FromQuery[str] = "",
    ) -> Template | Redirect:
        try:
            await checkout.finish_trial(
                _gateway(request), customer.id, subscription_id, approval_token_id, actor=_actor(customer),
                trial_policy=_trial_policy(request),
            )  # fmt: skip
        except PaymentProblem as problem:
            return _problem_page("subscriptions/trial_failed.html", problem)
        flash(request, "Your free trial has started. We will not charge you before it ends.", category="success")
        return see_other(LIST)

    @get("/trial/{subscription_id:int}/cancel")
    async def trial_cancelled(
        self, request: AnyRequest, customer: CurrentCustomer, subscription_id: FromPath[int]
    ) -> Redirect:
        await checkout.owned_trial(customer.id, subscription_id)
        flash(request, "You did not save a PayPal account, so the trial has not started.", category="warning")
        return see_other(LIST)


class CheckoutPortal(Controller):
    """Where PayPal sends the buyer back, for a first invoice and for any open invoice paid by checkout."""

    path = "/checkout"
    include_in_schema = False
    dependencies = {"customer": Provide(provide_customer)}

    @get("/return")
    async def approved(
        self, request: AnyRequest, customer: CurrentCustomer, token: FromQuery[str] = ""
    ) -> Template | Redirect:
        try:
            result = await checkout.finish_checkout(_gateway(request), customer.id, token, actor=_actor(customer))
        except PaymentProblem as problem:
            return _problem_page("subscriptions/checkout_failed.html", problem)
        target = LIST if result.subscription_id else f"/account/invoices/{result.invoice_id}"
        if result.succeeded:
            flash(request, "Thank you: your payment went through and your subscription is live.", category="success")
            return see_other(target)
        if result.pending:
            flash(request, "PayPal has not confirmed your payment yet; this page will show it once it does.",
                  category="warning")  # fmt: skip
            return see_other(target)
        return Template(
            "subscriptions/checkout_failed.html", context={"message": result.failure_message}, status_code=402
        )

    @get("/cancel")
    async def cancelled(self, request: AnyRequest, customer: CurrentCustomer, token: FromQuery[str] = "") -> Redirect:
        await checkout.abandon_checkout(customer.id, token, actor=_actor(customer))
        flash(request, "You cancelled on PayPal: nothing was charged.", category="warning")
        return see_other(LIST)


class SubscriptionsPortal(Controller):
    path = LIST
    include_in_schema = False
    dependencies = {"customer": Provide(provide_customer)}

    @get("/", name="account-subscriptions")
    async def overview(self, customer: CurrentCustomer) -> Template:
        return await _list_page(customer)

    @get("/{subscription_id:int}/change")
    async def preview_change(
        self, request: HTMXRequest, customer: CurrentCustomer, subscription_id: FromPath[int], plan: FromQuery[str] = ""
    ) -> Template:
        try:
            preview = await manage.preview_change(customer.id, subscription_id, plan)
        except DomainError as refused:
            if not request.htmx or isinstance(refused, NotFound):
                raise  # a page of its own, with the refusal's status
            # htmx swaps only 2xx answers: in place, the refusal is the preview's content.
            return Template("subscriptions/_refused.html", context={"message": refused.detail})
        template = "subscriptions/_preview.html" if request.htmx else "subscriptions/change.html"
        return Template(template, context={"preview": preview, "customer": customer})

    @post("/{subscription_id:int}/change")
    async def change(
        self, request: AnyRequest, customer: CurrentCustomer, subscription_id: FromPath[int], data: Form
    ) -> Template | Redirect:
        try:
            outcome = await manage.change_plan(
                _gateway(request), customer.id, subscription_id, data.get("plan", ""), actor=_actor(customer)
            )
        except PaymentProblem as problem:
            return await _list_page(customer, problem)
        except DomainError as error:
            flash(request, f"Your plan did not change: {error.detail}", category="error")
            return see_other(LIST)
        if outcome.trial_until:
            free_until = f"{outcome.trial_until:%b %-d, %Y}"
            flash(request, f"Done: your new plan is active now, free until {free_until}. Nothing was charged.",
                  category="success")  # fmt: skip
        elif outcome.applied:
            flash(request, "Done: your new plan is active now.", category="success")
        elif outcome.scheduled:
            flash(request, f"Your plan changes on {outcome.effective_at:%b %-d, %Y}.", category="success")
        elif outcome.pending:
            flash(
                request, "PayPal has not confirmed the payment yet: your plan changes once it does.", category="warning"
            )
        else:
            flash(request, f"Your plan did not change: {outcome.failure_message}", category="error")
        return see_other(LIST)

    @post("/{subscription_id:int}/cancel-change")
    async def cancel_change(
        self, request: AnyRequest, customer: CurrentCustomer, subscription_id: FromPath[int]
    ) -> Redirect:
        done = manage.cancel_scheduled_change(customer.id, subscription_id, actor=_actor(customer))
        return await _act(request, "The scheduled plan change is cancelled.", done)

    @get("/{subscription_id:int}/cancel")
    async def cancel_page(self, customer: CurrentCustomer, subscription_id: FromPath[int]) -> Template:
        return await _confirm_page("subscriptions/cancel.html", customer, subscription_id)

    @post("/{subscription_id:int}/cancel")
    async def cancel(
        self, request: AnyRequest, customer: CurrentCustomer, subscription_id: FromPath[int], data: Form
    ) -> Template | Redirect:
        at_period_end = data.get("when", "period_end") != "now"
        try:
            await manage.cancel(customer.id, subscription_id, reason=data.get("reason", ""),
                                at_period_end=at_period_end, actor=_actor(customer))  # fmt: skip
        except DomainError as error:
            return await _confirm_page("subscriptions/cancel.html", customer, subscription_id, error, data)
        message = "You keep access until the end of this period." if at_period_end else "Your subscription has ended."
        flash(request, f"Cancelled. {message}", category="success")
        return see_other(LIST)

    @post("/{subscription_id:int}/keep")
    async def keep(self, request: AnyRequest, customer: CurrentCustomer, subscription_id: FromPath[int]) -> Redirect:
        return await _act(request, "Welcome back: your subscription continues.",
                          manage.keep(customer.id, subscription_id, actor=_actor(customer)))  # fmt: skip

    @get("/{subscription_id:int}/pause")
    async def pause_page(self, customer: CurrentCustomer, subscription_id: FromPath[int]) -> Template:
        return await _confirm_page("subscriptions/pause.html", customer, subscription_id)

    @post("/{subscription_id:int}/pause")
    async def pause(self, request: AnyRequest, customer: CurrentCustomer, subscription_id: FromPath[int]) -> Redirect:
        return await _act(request, "Paused. Resume whenever you like: the rest of your period waits for you.",
                          manage.pause(customer.id, subscription_id, actor=_actor(customer)))  # fmt: skip

    @post("/{subscription_id:int}/resume")
    async def resume(self, request: AnyRequest, customer: CurrentCustomer, subscription_id: FromPath[int]) -> Redirect:
        return await _act(request, "Resumed: your access is back.",
                          manage.resume(customer.id, subscription_id, actor=_actor(customer)))  # fmt: skip


def _trial_policy(request: AnyRequest) -> TrialEligibility:
    return app_settings(request).billing.trial_eligibility


async def _subscribe_page(
    request: AnyRequest, customer: Customer, plan_code: str, error: DomainError | None = None
) -> Template:
    """The plan, and the trial it gives this customer (none once they have had theirs: they are told why)."""
    plan = await checkout.plan_for_sale(plan_code)
    trial = (await trials.offers(customer.id, [plan.code], _trial_policy(request)))[plan.code]
    context = {"plan": plan, "trial": trial, "customer": customer}
    if error is None:
        return Template("subscriptions/subscribe.html", context=context)
    context |= {"form_error": error.detail, "error_code": error.code}
    return Template("subscriptions/subscribe.html", context=context, status_code=error.status, headers=error.headers)


def _problem_page(template: str, problem: PaymentProblem) -> Template:
    """Where PayPal sent the customer back to, when PayPal said no or did not answer: its sentence, its status."""
    return Template(template, context={"message": problem.detail}, status_code=problem.status, headers=problem.headers)


async def _list_page(customer: Customer, problem: PaymentProblem | None = None) -> Template:
    """The subscriptions page; with a PayPal problem (a plan change's charge), its sentence and status."""
    subscriptions = await manage.list_for(customer.id)
    context = {"customer": customer, "subscriptions": subscriptions, "form_error": problem.detail if problem else ""}
    if problem is None:
        return Template("subscriptions/list.html", context=context)
    return Template("subscriptions/list.html", context=context, status_code=problem.status, headers=problem.headers)


async def _act(request: AnyRequest, success: str, action: Awaitable[None]) -> Redirect:
    """Run one service call; its refusal is shown on the list page rather than as an error page."""
    try:
        await action
    except DomainError as error:
        flash(request, error.detail, category="error")
    else:
        flash(request, success, category="success")
    return see_other(LIST)


async def _confirm_page(
    template: str, customer: Customer, subscription_id: int, error: DomainError | None = None, values: Any = None
) -> Template:
    views = [v for v in await manage.list_for(customer.id) if v.id == subscription_id]
    if not views:
        raise NotFound("There is no such subscription.", code="subscription_not_found")
    context = {"sub": views[0], "customer": customer, "values": values or {},
               "form_error": error.detail if error else ""}  # fmt: skip
    return Template(template, context=context, status_code=error.status if error else 200)
