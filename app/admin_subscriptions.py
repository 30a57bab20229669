"""Staff actions on subscriptions (admin forms, Subscriptions group): cancel (at the period end or now) and keep,
pause and resume, change plan (previewed first, then confirmed), extend a trial.

Each calls the service the customer's own portal calls (``app.subscriptions``; pause, resume and extending a
trial through ``app.billing.staff_actions``, which the support console runs too), so the events, outbox events,
entitlement invalidation and e-mails are the same; staff appear as ``staff:<id>`` in the trail. Billing staff
(and superusers) only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from piccolo_admin.endpoints import FormConfig
from pydantic import BaseModel, Field
from starlette.requests import Request

from app.admin_actions import StaffRequest, explained, form_group
from app.admin_permissions import StaffAction, require_action
from app.audit.service import record_audit
from app.billing import staff_actions
from app.billing.staff_actions import when
from app.money import format_money
from app.subscriptions import manage, service
from app.subscriptions.manage import ChangePreview

FORM_GROUP = "Subscriptions"
REASON = Field(min_length=1, max_length=500, description="Why: kept in the subscription's history and the audit log.")


class CancelForm(BaseModel):
    subscription_id: int
    when: Literal["at period end", "now"] = Field(
        default="at period end",
        description="At the period end the customer keeps access until then (and can still keep the subscription); "
        "now ends access at once. Nothing is refunded: refund a payment separately.",
    )
    reason: str = REASON


class KeepForm(BaseModel):
    subscription_id: int = Field(description="A subscription set to cancel at its period end.")


class PauseResumeForm(BaseModel):
    subscription_id: int
    action: Literal["pause", "resume"] = Field(
        description="Pause: no access and no bills; the rest of the period is kept. Resume: the period goes on."
    )
    reason: str = Field(default="", max_length=500)


class ChangePlanForm(BaseModel):
    subscription_id: int
    plan_code: str = Field(description="The new plan's code (Catalog -> plan).")
    confirm: bool = Field(
        default=False, description="Leave unticked to see what it costs; tick and submit again to make the change."
    )


class ExtendTrialForm(BaseModel):
    subscription_id: int
    trial_end: datetime = Field(description="UTC; later than the current trial end. The first bill moves with it.")
    reason: str = REASON


async def cancel_subscription(request: Request, data: CancelForm) -> str:
    await require_action(request, StaffAction.subscriptions)
    staff = StaffRequest.of(request)
    at_period_end = data.when == "at period end"
    with explained():
        await service.cancel(data.subscription_id, actor=staff.who, reason=data.reason, at_period_end=at_period_end)
        sub = await service.load(data.subscription_id)
    await _audit(staff, "subscription.cancel", data.subscription_id, when=data.when, reason=data.reason)
    if at_period_end:
        return (
            f"Subscription #{data.subscription_id} ends at its period end, {when(sub['current_period_end'])}; "
            "until then the customer keeps access and can keep it."
        )
    return f"Subscription #{data.subscription_id} is canceled: access ended now."


async def keep_subscription(request: Request, data: KeepForm) -> str:
    await require_action(request, StaffAction.subscriptions)
    staff = StaffRequest.of(request)
    with explained():
        await service.undo_cancel(data.subscription_id, actor=staff.who)
    await _audit(staff, "subscription.cancel_undone", data.subscription_id)
    return f"Subscription #{data.subscription_id} is no longer set to cancel: it renews as usual."


async def pause_or_resume(request: Request, data: PauseResumeForm) -> str:
    await require_action(request, StaffAction.subscriptions)
    staff = StaffRequest.of(request)
    change = staff_actions.pause if data.action == "pause" else staff_actions.resume
    with explained():
        done = await change(data.subscription_id, actor=staff.who, reason=data.reason)
    await staff.audit(done)
    return done.message


async def change_plan(request: Request, data: ChangePlanForm) -> str:
    """Unconfirmed: the preview, from the code that bills (what the customer pays now, the next bill). Confirmed:
    the change as the customer would make it: an upgrade is charged to their saved method now and applies
    once paid; a downgrade waits for the period end."""
    await require_action(request, StaffAction.subscriptions)
    staff = StaffRequest.of(request)
    with explained():
        customer_id = (await service.load(data.subscription_id))["customer"]
        preview = await manage.preview_change(customer_id, data.subscription_id, data.plan_code)
        if not data.confirm:
            return f"{describe(preview)} Tick confirm and submit again to make this change."
        outcome = await manage.change_plan(
            staff.gateway, customer_id, data.subscription_id, data.plan_code, actor=staff.who
        )
    await _audit(
        staff, "subscription.plan_change", data.subscription_id, plan=data.plan_code, applied=outcome.applied,
        scheduled=outcome.scheduled, pending=outcome.pending, failure=outcome.failure_message,
    )  # fmt: skip
    new = preview.new.name
    if outcome.applied:
        return f"Subscription #{data.subscription_id} is on {new} now."
    if outcome.scheduled:
        return f"Subscription #{data.subscription_id} moves to {new} on {when(outcome.effective_at)}."
    if outcome.pending:
        return f"The charge for {new} is being confirmed by PayPal; the plan changes once it is paid."
    return f"The plan did not change: {outcome.failure_message}"


def describe(preview: ChangePreview) -> str:
    """The preview in the portal's words (its numbers are ``changes.preview_plan_change``'s)."""
    change, current, new = preview.change, preview.current.name, preview.new.name
    next_bill = (
        f"Next bill: {format_money(change.next_bill_minor, change.currency)} on {when(change.next_bill_at)}, "
        f"then {format_money(preview.new.amount_minor, preview.new.currency)} every {_cadence(preview.new)}."
    )
    if change.lines:
        lines = "; ".join(f"{x.description}: {format_money(x.amount_minor, x.currency)}" for x in change.lines)
        return (
            f"{current} -> {new}: the customer pays {format_money(change.due_now_minor, change.currency)} now, "
            f"charged to their saved PayPal account ({lines}); {new} starts once it is paid. {next_bill}"
        )
    if change.immediate:  # nothing billed, yet it applies now (a change during a free trial)
        return f"{current} -> {new}: nothing to pay now; {new} starts now. {next_bill}"
    return (
        f"{current} -> {new}: nothing to pay now; {current} stays until {when(change.effective_at)}, "
        f"then {new} starts. {next_bill}"
    )


def _cadence(plan: manage.PlanOption) -> str:
    return plan.interval if plan.interval_count == 1 else f"{plan.interval_count} {plan.interval}s"


async def extend_trial(request: Request, data: ExtendTrialForm) -> str:
    await require_action(request, StaffAction.subscriptions)
    staff = StaffRequest.of(request)
    with explained():
        done = await staff_actions.extend_trial(data.subscription_id, data.trial_end, actor=staff.who,
                                                reason=data.reason)  # fmt: skip
    await staff.audit(done)
    return done.message


async def _audit(staff: StaffRequest, action: str, subscription_id: int, *, before: dict[str, object] | None = None,
                 **after: object) -> None:  # fmt: skip
    await record_audit(
        action, **staff.actor, target_type="subscription", target_id=subscription_id, before=before, after=after
    )


def subscription_forms() -> list[FormConfig]:
    return form_group(
        FORM_GROUP,
        ("Cancel a subscription", CancelForm, cancel_subscription,
         "At its period end (the default) or now, with the reason; the customer is e-mailed when it ends."),
        ("Keep a subscription", KeepForm, keep_subscription, "Undo a cancellation set for the period end."),
        ("Pause or resume a subscription", PauseResumeForm, pause_or_resume,
         "Pause an active subscription (no access, no bills) or resume a paused one."),
        ("Change the plan of a subscription", ChangePlanForm, change_plan,
         "First see what it costs (the customer's preview), then confirm: upgrades are charged now."),
        ("Extend a trial", ExtendTrialForm, extend_trial,
         "Move a trial's end later; the reminder and the first bill follow the new end."),
    )  # fmt: skip
