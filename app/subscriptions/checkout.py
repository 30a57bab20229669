"""Subscribing from the portal: choose a plan, then a trial (vault PayPal, no charge) or a first invoice paid
through PayPal checkout, and back in the portal with a live subscription.

However often the button is pressed (double clicks, the back button, two tabs), a customer gets one
subscription per plan: ``start`` serialises the customer's requests on their row and reuses an incomplete
subscription with its open first invoice; a partial unique index (one incomplete subscription per customer
and plan) is the backstop.
The checkout's return is settled here, synchronously, so the customer lands on a live subscription; the
payment.succeeded handler may settle the same invoice again, which changes nothing. Two tabs each approved on
PayPal for the same invoice are captured once: the payments service lets one payment of an invoice hold its
claim at a time, and the tab that lost waits briefly for the winner's answer and shows it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from app.accounts.service import ensure_can_pay
from app.billing import service as invoices
from app.catalog.prices import code_on_sale
from app.db import lock_row, write_transaction
from app.errors import Conflict, NotFound
from app.payments import methods
from app.payments import service as payments
from app.payments.gateway import PaymentGateway
from app.payments.states import SUPERSEDED
from app.settings import DEFAULT_TRIAL_ELIGIBILITY, TrialEligibility
from app.subscriptions import service, trials
from app.subscriptions.settlement import settle_paid_invoice
from app.subscriptions.states import LIVE, Event, Status
from tables.accounts import Customer
from tables.billing import Invoice
from tables.catalog import Plan
from tables.payments import Payment
from tables.subscriptions import Subscription

# How long a return whose order lost the invoice's claim waits for the winner's answer (PayPal's is typically
# well under a second): polls, seconds apart.
WINNER_POLLS, WINNER_POLL_S = 50, 0.1
NOT_ASKED = (
    "Nothing was charged for this approval: another payment of this invoice was made at the same moment and did not "
    "go through, or the invoice can no longer be paid. Please check your subscriptions and try again."
)


class AlreadySubscribed(Conflict):
    code = "already_subscribed"


@dataclass(frozen=True, slots=True)
class PlanChoice:
    id: int
    code: str
    name: str
    product_id: int
    product_name: str
    amount_minor: int
    currency: str
    interval: str
    interval_count: int
    trial_days: int


@dataclass(frozen=True, slots=True)
class Started:
    subscription_id: int
    trial: bool
    invoice_id: int | None  # the open first invoice to pay; None for a trial or when already paid
    already_live: bool = False  # a paid first invoice was found: the subscription is live now


@dataclass(frozen=True, slots=True)
class CheckoutResult:
    succeeded: bool
    invoice_id: int
    subscription_id: int | None
    failure_message: str = ""
    pending: bool = False  # the capture's outcome is not known yet (the reconciler settles it)


async def plan_for_sale(code: str) -> PlanChoice:
    """A plan the pricing page offers (public, active, of an active product), or NotFound. The code of a plan
    that has a newer price sells that newer version (``prices.code_on_sale``): sign-up links keep working."""
    row = (
        await Plan.select(
            Plan.id,
            Plan.code,
            Plan.name,
            Plan.product,
            Plan.product.name.as_alias("product_name"),
            Plan.amount_minor,
            Plan.currency,
            Plan.interval,
            Plan.interval_count,
            Plan.trial_days,
        )
        .where(Plan.code == await code_on_sale(code), Plan.public.eq(True), Plan.status == Plan.Status.active)
        .where(Plan.product._.active.eq(True))
        .first()
    )
    if row is None:
        raise NotFound(f"There is no plan {code!r} on sale.", code="plan_not_found")
    return PlanChoice(
        row["id"], row["code"], row["name"], row["product"], row["product_name"], row["amount_minor"],
        row["currency"], row["interval"], row["interval_count"], row["trial_days"],
    )  # fmt: skip


async def start(
    customer_id: int, plan: PlanChoice, *, actor: str, trial_policy: TrialEligibility = DEFAULT_TRIAL_ELIGIBILITY
) -> Started:
    """The customer's incomplete subscription to ``plan``: reused when it exists, created otherwise. A live
    subscription to the same product refuses (plans change from the subscription page instead)."""
    async with write_transaction():
        await lock_row(Customer, customer_id)  # this customer's subscribe requests take turns
        live = await Subscription.select(
            Subscription.id, Subscription.plan, Subscription.status, Subscription.trial_end
        ).where(
            Subscription.customer == customer_id,
            Subscription.status.is_in(list(LIVE)),
            Subscription.plan._.product == plan.product_id,
        )
        trial = await trials.offer(customer_id, plan.id, trial_policy)
        for row in live:
            if row["status"] != Status.incomplete:
                raise AlreadySubscribed(
                    f"You already subscribe to {plan.product_name}: change your plan from your subscriptions page.",
                    extra={"subscription": row["id"]},
                )
            if row["plan"] == plan.id and (row["trial_end"] is None or not trial.had_one):
                return await _resume(row["id"], row["trial_end"] is not None, actor=actor)
            # An unpaid checkout for another plan of this product, or a trial checkout the customer can no
            # longer start (they have had a trial since): replaced by a new one.
            await _abandon(row["id"], actor=actor)
        subscribed = await service.subscribe(customer_id, plan.id, actor=actor, trial_policy=trial_policy)
    invoice = subscribed.invoice
    return Started(subscribed.subscription_id, subscribed.trial_end is not None, invoice.id if invoice else None)


async def begin(
    gateway: PaymentGateway,
    customer: Customer,
    plan_code: str,
    *,
    base_url: str,
    actor: str,
    trial_policy: TrialEligibility = DEFAULT_TRIAL_ELIGIBILITY,
) -> str | None:
    """The "Choose" button: where to send the customer next (PayPal's checkout or its vault approval), or None
    when the subscription turned out to be live already. Payments need a confirmed e-mail address."""
    ensure_can_pay(customer)
    plan = await plan_for_sale(plan_code)
    started = await start(customer.id, plan, actor=actor, trial_policy=trial_policy)
    if started.already_live:
        return None
    if started.invoice_id is None:
        trial = f"{base_url}/subscribe/trial/{started.subscription_id}"
        return await begin_trial(
            gateway, customer.id, started.subscription_id, return_url=f"{trial}/return", cancel_url=f"{trial}/cancel"
        )
    return await begin_checkout(
        gateway, started.invoice_id, return_url=f"{base_url}/checkout/return",
        cancel_url=f"{base_url}/checkout/cancel", actor=actor,
    )  # fmt: skip


async def _resume(subscription_id: int, trial: bool, *, actor: str) -> Started:
    if trial:
        return Started(subscription_id, True, None)
    first = (
        await Invoice.select(Invoice.id, Invoice.status)
        .where(
            Invoice.subscription == subscription_id,
            Invoice.billing_reason == Invoice.BillingReason.subscription_create,
            Invoice.status.is_in([Invoice.Status.open, Invoice.Status.paid]),
        )
        .first()
    )
    if first is None:
        raise Conflict("This checkout can no longer be paid; please start again.", code="checkout_lapsed")
    if first["status"] == Invoice.Status.paid:  # paid, but the settlement did not finish: finish it now
        await settle_paid_invoice(first["id"], actor=actor)
        return Started(subscription_id, False, None, already_live=True)
    return Started(subscription_id, False, first["id"])


async def _abandon(subscription_id: int, *, actor: str) -> None:
    await service.transition(subscription_id, Event.cancel, actor=actor, reason="another plan was chosen")
    for row in await Invoice.select(Invoice.id).where(
        Invoice.subscription == subscription_id, Invoice.status == Invoice.Status.open
    ):
        await invoices.void(row["id"], actor=actor, reason="another plan was chosen")


async def begin_checkout(
    gateway: PaymentGateway, invoice_id: int, *, return_url: str, cancel_url: str, actor: str
) -> str:
    """A PayPal order for the invoice; returns where to send the buyer, or raises ``PaymentProblem`` in the
    customer's words when PayPal made none (its own words stay on the failed payment and in the log)."""
    outcome = await payments.start_checkout_payment(
        gateway, invoice_id, return_url=return_url, cancel_url=cancel_url, actor=actor
    )
    if outcome.approve_url is None:
        raise outcome.problem()
    return outcome.approve_url


async def _owned_checkout(customer_id: int, order_id: str) -> dict[str, Any]:
    row = (
        await Payment.select(Payment.id, Payment.invoice, Payment.customer, Payment.status, Payment.kind)
        .where(Payment.gateway_order_id == order_id)
        .first()
    )
    if row is None or row["customer"] != customer_id or row["kind"] != Payment.Kind.checkout:
        raise NotFound("There is no such payment.", code="payment_not_found")
    return dict(row)


async def finish_checkout(gateway: PaymentGateway, customer_id: int, order_id: str, *, actor: str) -> CheckoutResult:
    """The buyer approved on PayPal (``token`` on the return URL): capture, then settle the invoice. A reload
    repeats nothing: the capture answers with the recorded outcome, the settlement is idempotent. A second tab
    captures nothing when another payment of the invoice holds its claim or collected it: it shows that
    payment's outcome instead (the invoice paid, or still being confirmed). Raises ``PaymentProblem`` when PayPal
    declined or refused the capture."""
    payment = await _owned_checkout(customer_id, order_id)
    invoice = await Invoice.select(Invoice.subscription).where(Invoice.id == payment["invoice"]).first()
    if invoice is None:  # never: a payment's invoice cannot be deleted (ON DELETE RESTRICT)
        raise NotFound("There is no such payment.", code="payment_not_found")
    subscription_id = invoice["subscription"]
    outcome = await payments.capture_checkout_payment(gateway, order_id, actor=actor)
    if outcome.failure_code == SUPERSEDED:
        return await _after_the_winner(payment["invoice"], subscription_id, actor=actor)
    if outcome.status == Payment.Status.succeeded:
        await settle_paid_invoice(payment["invoice"], actor=actor)
        method = await Payment.select(Payment.payment_method).where(Payment.id == outcome.payment_id).first()
        if subscription_id is not None and method and method["payment_method"]:
            await Subscription.update({Subscription.payment_method: method["payment_method"]}).where(
                Subscription.id == subscription_id, Subscription.payment_method.is_null()
            )
        return CheckoutResult(True, payment["invoice"], subscription_id)
    if outcome.status in payments.IN_FLIGHT:
        return CheckoutResult(False, payment["invoice"], subscription_id, pending=True)
    raise outcome.problem()  # declined or refused, in the customer's words


async def _after_the_winner(invoice_id: int, subscription_id: int | None, *, actor: str) -> CheckoutResult:
    """This order was not captured because another payment of the invoice holds its claim or collected it:
    the outcome of that payment, once it has one (waiting a moment for it), is what the buyer sees."""
    winner = await payments.claim_holder(invoice_id)
    for _ in range(WINNER_POLLS):
        if winner is None or winner.status not in payments.IN_FLIGHT:
            break
        await asyncio.sleep(WINNER_POLL_S)
        winner = await payments.claim_holder(invoice_id)
    invoice = await Invoice.select(Invoice.status).where(Invoice.id == invoice_id).first()
    paid = invoice is not None and invoice["status"] == Invoice.Status.paid
    if paid or (winner is not None and winner.status in payments.COLLECTED):
        await settle_paid_invoice(invoice_id, actor=actor)
        return CheckoutResult(True, invoice_id, subscription_id)
    if winner is not None:
        return CheckoutResult(False, invoice_id, subscription_id, pending=True)
    return CheckoutResult(False, invoice_id, subscription_id, NOT_ASKED)


async def abandon_checkout(customer_id: int, order_id: str, *, actor: str) -> None:
    """The buyer cancelled on PayPal: the attempt ends; the subscription stays incomplete until it lapses."""
    await _owned_checkout(customer_id, order_id)
    await payments.cancel_checkout_payment(order_id, actor=actor)


async def owned_trial(customer_id: int, subscription_id: int) -> dict[str, Any]:
    sub = await service.load(subscription_id)
    if sub["customer"] != customer_id or sub["trial_end"] is None:
        raise NotFound("There is no such subscription.", code="subscription_not_found")
    return sub


async def begin_trial(
    gateway: PaymentGateway, customer_id: int, subscription_id: int, *, return_url: str, cancel_url: str
) -> str:
    """Vault a PayPal method for the trial (no purchase); returns where the customer approves it."""
    await owned_trial(customer_id, subscription_id)
    setup = await methods.start_vault_setup(
        gateway, customer_id, return_url=return_url, cancel_url=cancel_url, subscription_id=subscription_id
    )
    return setup.approve_url


async def finish_trial(
    gateway: PaymentGateway,
    customer_id: int,
    subscription_id: int,
    setup_token: str,
    *,
    actor: str,
    trial_policy: TrialEligibility = DEFAULT_TRIAL_ELIGIBILITY,
) -> None:
    """The customer approved the vault set-up: save the method and start the trial. Only the token of the set-up
    this customer started for this trial is accepted (else NotFound). Repeating it is harmless (the saved method
    is returned again; a trial already running stays as it is)."""
    sub = await owned_trial(customer_id, subscription_id)
    method_id = await methods.complete_vault_setup(gateway, customer_id, setup_token, subscription_id=subscription_id)
    if sub["status"] == Status.trialing:
        return
    try:
        await service.start_trial(subscription_id, actor=actor, payment_method_id=method_id, trial_policy=trial_policy)
    except Conflict:
        if (await service.load(subscription_id))["status"] != Status.trialing:
            raise  # not a concurrent twin of this request: a real refusal (e.g. the checkout lapsed)
