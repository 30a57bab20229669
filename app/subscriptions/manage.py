"""A customer managing their own subscriptions: what the portal shows, and each change it offers.

Every function takes the customer and refuses (NotFound) a subscription that is not theirs. Prices and dates
come from the same code that bills (``changes.preview_plan_change``), so the preview is what is charged.
In a trial a change applies at once and charges nothing. Otherwise an upgrade is charged at once to the saved
method; if the charge fails the change invoice is voided and the plan stays as it was (DESIGN.md section 3),
so the customer can fix their method and try again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.billing import service as invoices
from app.billing.price_moves import scheduled_prices
from app.billing.proration import PlanChange
from app.billing.renewal_rules import Ending, Renewal, ScheduledPrice
from app.billing.renewals import upcoming_renewals
from app.errors import InvalidInput, NotFound
from app.payments import service as payments
from app.payments.gateway import PaymentGateway
from app.subscriptions import changes, service
from app.subscriptions.settlement import settle_paid_invoice
from app.subscriptions.states import Status
from tables.billing import Invoice
from tables.catalog import Plan
from tables.payments import Payment, PaymentMethod
from tables.subscriptions import Subscription

CANCELABLE = (Status.trialing, Status.active, Status.past_due, Status.unpaid, Status.paused)


@dataclass(frozen=True, slots=True)
class PlanOption:
    id: int
    code: str
    name: str
    amount_minor: int
    currency: str
    interval: str
    interval_count: int


@dataclass(frozen=True, slots=True)
class SubscriptionView:
    id: int
    status: str
    plan: PlanOption
    period_start: datetime
    period_end: datetime
    trial_end: datetime | None
    pending_plan: PlanOption | None
    cancel_at_period_end: bool
    cancel_reason: str
    paused_at: datetime | None
    next_bill_minor: int | None  # None: no next bill (canceling, paused, over)
    next_bill_at: datetime | None
    open_invoice_id: int | None  # an unpaid invoice the customer can pay now
    options: tuple[PlanOption, ...]  # plans of the same product it can move to
    new_price: PlanOption | None = None  # the newer price staff moved it to (app.billing.price_moves)
    new_price_from: datetime | None = None  # the renewal from which that price is billed

    @property
    def can_change(self) -> bool:
        return self.status in changes.CHANGEABLE and not self.cancel_at_period_end

    @property
    def can_cancel(self) -> bool:
        return self.status in CANCELABLE

    @property
    def can_pause(self) -> bool:
        return self.status == Status.active and not self.cancel_at_period_end


@dataclass(frozen=True, slots=True)
class ChangePreview:
    subscription_id: int
    current: PlanOption
    new: PlanOption
    change: PlanChange


@dataclass(frozen=True, slots=True)
class ChangeOutcome:
    applied: bool  # the plan changed now (a paid upgrade, or any change in a trial)
    scheduled: bool  # the change waits for the period end
    pending: bool  # the charge's outcome is not known yet: the reconciler settles it
    failure_message: str = ""
    effective_at: datetime | None = None
    trial_until: datetime | None = None  # changed in a trial: free until then, on the new plan


def _option(row: dict[str, Any]) -> PlanOption:
    return PlanOption(
        row["id"], row["code"], row["name"], row["amount_minor"], row["currency"], row["interval"],
        row["interval_count"],
    )  # fmt: skip


_PLAN_COLUMNS = (Plan.id, Plan.code, Plan.name, Plan.amount_minor, Plan.currency, Plan.interval,
                 Plan.interval_count, Plan.product)  # fmt: skip


async def owned(customer_id: int, subscription_id: int) -> dict[str, Any]:
    """The customer's subscription, or NotFound (also for somebody else's: its existence is not revealed)."""
    try:
        sub = await service.load(subscription_id)
    except NotFound:
        sub = None
    if sub is None or sub["customer"] != customer_id:
        raise NotFound("There is no such subscription.", code="subscription_not_found")
    return sub


async def list_for(customer_id: int) -> list[SubscriptionView]:
    """The customer's subscriptions, live ones first, with the plans each can move to."""
    rows = await Subscription.select().where(Subscription.customer == customer_id).order_by(Subscription.id)
    rows = [r for r in rows if r["status"] != Status.incomplete_expired]
    moves = await scheduled_prices([r["id"] for r in rows], noticed_only=False)
    plan_ids = {r["plan"] for r in rows} | {r["pending_plan"] for r in rows if r["pending_plan"]}
    plan_ids |= {move.plan.plan_id for move in moves.values()}
    plans = {p["id"]: p for p in await Plan.select(*_PLAN_COLUMNS).where(Plan.id.is_in(list(plan_ids) or [0]))}
    products = {p["product"] for p in plans.values()}
    offered = await (
        Plan.select(*_PLAN_COLUMNS)
        .where(Plan.product.is_in(list(products) or [0]), Plan.public.eq(True), Plan.status == Plan.Status.active)
        .order_by(Plan.sort_order)
        .order_by(Plan.amount_minor)
    )
    unpaid = await Invoice.select(Invoice.id, Invoice.subscription).where(
        Invoice.customer == customer_id, Invoice.status == Invoice.Status.open
    )
    open_of = {r["subscription"]: r["id"] for r in unpaid}
    # The next bill as the billing run will write it (a scheduled downgrade included): the code that bills.
    upcoming = await upcoming_renewals([r for r in rows if _renews(r)])
    views = [_view(r, plans, offered, open_of.get(r["id"]), upcoming.get(r["id"]), moves.get(r["id"])) for r in rows]
    return sorted(views, key=lambda v: (v.status == Status.canceled, -v.id))


def _renews(row: dict[str, Any]) -> bool:
    return row["status"] in (Status.trialing, Status.active, Status.past_due) and not row["cancel_at_period_end"]


def _view(
    row: dict[str, Any],
    plans: dict[int, dict[str, Any]],
    offered: list[dict[str, Any]],
    open_invoice: int | None,
    upcoming: Renewal | Ending | None,
    move: ScheduledPrice | None,
) -> SubscriptionView:
    plan = plans[row["plan"]]
    # A new price shows while the subscription will come to it: still on the price it moves from, renewing,
    # with no downgrade taking effect first.
    if move is not None and not (move.from_plan_id == row["plan"] and _renews(row) and not row["pending_plan"]):
        move = None
    pending = plans.get(row["pending_plan"]) if row["pending_plan"] else None
    next_bill = upcoming.line.amount_minor if isinstance(upcoming, Renewal) else None
    options = tuple(
        _option(p) for p in offered if p["product"] == plan["product"] and p["id"] != plan["id"]
        and p["currency"] == plan["currency"]
    )  # fmt: skip
    return SubscriptionView(
        id=row["id"], status=row["status"], plan=_option(plan),
        period_start=row["current_period_start"], period_end=row["current_period_end"], trial_end=row["trial_end"],
        pending_plan=_option(pending) if pending else None, cancel_at_period_end=row["cancel_at_period_end"],
        cancel_reason=row["cancel_reason"], paused_at=row["paused_at"],
        next_bill_minor=next_bill,
        next_bill_at=row["current_period_end"] if next_bill is not None else None,
        open_invoice_id=open_invoice, options=options,
        new_price=_option(plans[move.plan.plan_id]) if move else None,
        new_price_from=move.effective_at if move else None,
    )  # fmt: skip


async def _offered_plan(sub: dict[str, Any], code: str) -> PlanOption:
    """``code`` if it is one of the plans this subscription is offered (``SubscriptionView.options``: public,
    on sale, of the same product and currency); a hand-made request cannot move it anywhere else."""
    current = await Plan.select(Plan.product, Plan.currency).where(Plan.id == sub["plan"]).first()
    row = await Plan.select(*_PLAN_COLUMNS).where(Plan.code == code, Plan.status == Plan.Status.active,
                                                   Plan.public.eq(True)).first()  # fmt: skip
    if row is None or current is None or (row["product"], row["currency"]) != (current["product"], current["currency"]):
        raise NotFound(f"There is no plan {code!r} for this subscription.", code="plan_not_found")
    return _option(row)


async def preview_change(customer_id: int, subscription_id: int, plan_code: str) -> ChangePreview:
    """What moving to ``plan_code`` costs now, the next bill and when it takes effect: the billing maths."""
    sub = await owned(customer_id, subscription_id)
    new = await _offered_plan(sub, plan_code)
    current = await Plan.select(*_PLAN_COLUMNS).where(Plan.id == sub["plan"]).first()
    if current is None:  # never: a plan cannot be deleted under a subscription (ON DELETE RESTRICT)
        raise NotFound("There is no such plan.", code="plan_not_found")
    change = await changes.preview_plan_change(subscription_id, new.id)
    return ChangePreview(subscription_id, _option(current), new, change)


async def change_plan(
    gateway: PaymentGateway, customer_id: int, subscription_id: int, plan_code: str, *, actor: str
) -> ChangeOutcome:
    """Schedule a downgrade, or bill an upgrade now: charge the saved method, and apply the plan only once
    paid. A declined charge voids the change invoice, leaves the plan unchanged and raises ``PaymentProblem``."""
    sub = await owned(customer_id, subscription_id)
    new = await _offered_plan(sub, plan_code)
    started = await changes.change_plan(subscription_id, new.id, actor=actor)
    if started.applied or started.invoice is None:  # scheduled, or changed with nothing to collect (a trial)
        change = started.change
        return ChangeOutcome(
            applied=change.immediate, scheduled=not change.immediate, pending=False, effective_at=change.effective_at,
            trial_until=change.next_bill_at if change.trial else None,
        )  # fmt: skip
    invoice_id = started.invoice.id
    try:
        method_id = await _charge_method(customer_id, sub["payment_method"])
        # No key of our own: charge_invoice gives the attempt a unique one and resumes a payment of this
        # invoice still in flight instead of starting a second (ids restart in other databases; keys must not).
        outcome = await payments.charge_invoice(gateway, invoice_id, payment_method_id=method_id, actor=actor)
    except InvalidInput as refused:  # no usable payment method
        await invoices.void(invoice_id, actor=actor, reason=refused.detail)
        return ChangeOutcome(False, False, False, refused.detail)
    if outcome.status == Payment.Status.succeeded:
        await settle_paid_invoice(invoice_id, actor=actor)
        return ChangeOutcome(True, False, False, effective_at=started.change.effective_at)
    if outcome.status in payments.IN_FLIGHT:
        return ChangeOutcome(False, False, True)
    await invoices.void(invoice_id, actor=actor, reason=f"charge failed: {outcome.failure_code}")
    raise outcome.problem()  # in the customer's words; PayPal's stay on the payment


async def _charge_method(customer_id: int, preferred: int | None) -> int:
    """The subscription's own method if still usable, else the customer's default."""
    query = PaymentMethod.select(PaymentMethod.id).where(
        PaymentMethod.customer == customer_id, PaymentMethod.status == PaymentMethod.Status.active
    )
    if preferred is not None and await query.where(PaymentMethod.id == preferred).first():
        return preferred
    default = (
        await PaymentMethod.select(PaymentMethod.id)
        .where(PaymentMethod.customer == customer_id, PaymentMethod.status == PaymentMethod.Status.active)
        .order_by(PaymentMethod.is_default, ascending=False)
        .order_by(PaymentMethod.id, ascending=False)
        .first()
    )
    if default is None:
        raise InvalidInput("Add a PayPal account on your billing page first.", code="no_payment_method")
    return int(default["id"])


async def cancel_scheduled_change(customer_id: int, subscription_id: int, *, actor: str) -> None:
    await owned(customer_id, subscription_id)
    await changes.cancel_scheduled_change(subscription_id, actor=actor)


async def cancel(customer_id: int, subscription_id: int, *, reason: str, at_period_end: bool, actor: str) -> None:
    await owned(customer_id, subscription_id)
    reason = reason.strip()[:500]
    if not reason:
        raise InvalidInput("Tell us why you are leaving (one line is enough).", code="reason_required")
    await service.cancel(subscription_id, actor=actor, reason=reason, at_period_end=at_period_end)


async def keep(customer_id: int, subscription_id: int, *, actor: str) -> None:
    """Undo a cancellation scheduled for the period end."""
    await owned(customer_id, subscription_id)
    await service.undo_cancel(subscription_id, actor=actor)


async def pause(customer_id: int, subscription_id: int, *, actor: str) -> None:
    await owned(customer_id, subscription_id)
    await service.pause(subscription_id, actor=actor, reason="paused by the customer")


async def resume(customer_id: int, subscription_id: int, *, actor: str) -> None:
    await owned(customer_id, subscription_id)
    await service.resume(subscription_id, actor=actor)
