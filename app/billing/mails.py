"""The billing e-mails (HTML + text, from portal_templates/mail/billing_*): what each says, read from the
rows at sending time. Each function returns None when there is nobody to write to."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app import clock
from app.billing.customer_time import customer_now
from app.billing.price_moves import MOVABLE
from app.billing.reminders import announcement
from app.billing.renewals import upcoming_renewal
from app.errors import Conflict, NotFound
from app.mail import OutgoingMail
from app.mail_templates import render_mail
from app.payments.customer import latest_refusal
from app.settings import Settings
from tables.billing import Invoice, PriceMove
from tables.subscriptions import Subscription

BILLING_PATH = "/account/billing"  # the portal's payment-method page
SUBSCRIPTION_PATH = "/account/subscriptions"
INVOICES_PATH = "/account/invoices"


def _day(value: datetime | str | None) -> str:
    if value is None:
        return ""
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return f"{clock.as_utc(at):%B %-d, %Y}"


def _mail(settings: Settings, template: str, to: dict[str, Any], subject: str, **context: Any) -> OutgoingMail:
    return render_mail(
        template,
        to["email"],
        subject,
        name=to["name"],
        site_name=settings.site_name,
        billing_link=settings.base_url + BILLING_PATH,
        subscription_link=settings.base_url + SUBSCRIPTION_PATH,
        invoices_link=settings.base_url + INVOICES_PATH,
        **context,
    )


async def _invoice(invoice_id: int) -> dict[str, Any] | None:
    row = (
        await Invoice.select(
            Invoice.number, Invoice.total_minor, Invoice.currency, Invoice.period_end,
            Invoice.customer.email.as_alias("email"), Invoice.customer.name.as_alias("name"),
            Invoice.subscription._.plan._.name.as_alias("plan_name"),
        )
        .where(Invoice.id == invoice_id)
        .first()
    )  # fmt: skip
    return dict(row) if row else None


async def _subscription(subscription_id: int) -> dict[str, Any] | None:
    row = (
        await Subscription.select(
            Subscription.status, Subscription.current_period_end, Subscription.trial_end, Subscription.ended_at,
            Subscription.cancel_reason, Subscription.cancel_at_period_end, Subscription.customer,
            Subscription.customer.email.as_alias("email"), Subscription.customer.name.as_alias("name"),
            Subscription.plan._.name.as_alias("plan_name"),
        )
        .where(Subscription.id == subscription_id)
        .first()
    )  # fmt: skip
    return dict(row) if row else None


async def receipt(settings: Settings, invoice_id: int, amount_minor: int, currency: str) -> OutgoingMail | None:
    invoice = await _invoice(invoice_id)
    if invoice is None:
        return None
    number = invoice["number"] or f"#{invoice_id}"
    return _mail(
        settings, "billing_receipt", invoice, f"Receipt for {settings.site_name} invoice {number}",
        number=number, amount_minor=amount_minor, currency=currency, plan_name=invoice["plan_name"] or "",
        period_end=_day(invoice["period_end"]),
    )  # fmt: skip


async def receipt_again(settings: Settings, invoice_id: int) -> OutgoingMail:
    """The receipt of a paid invoice once more (staff resend it), for what was paid."""
    row = await Invoice.select(Invoice.number, Invoice.status, Invoice.amount_paid_minor, Invoice.currency).where(
        Invoice.id == invoice_id
    ).first()  # fmt: skip
    if row is None:
        raise NotFound(f"There is no invoice #{invoice_id}.", code="invoice_not_found")
    if row["status"] != Invoice.Status.paid:
        raise Conflict(f"Invoice {row['number'] or f'#{invoice_id}'} is {row['status']}: only a paid invoice has a "
                       "receipt.", code="invoice_not_paid")  # fmt: skip
    mail = await receipt(settings, invoice_id, row["amount_paid_minor"], row["currency"])
    assert mail is not None  # noqa: S101 - the invoice exists
    return mail


async def payment_failed(settings: Settings, payload: dict[str, Any]) -> OutgoingMail | None:
    invoice = await _invoice(payload["invoice_id"])
    if invoice is None:
        return None
    number = invoice["number"] or f"#{payload['invoice_id']}"
    return _mail(
        settings, "billing_payment_failed", invoice, f"Your {settings.site_name} payment did not go through",
        number=number, amount_minor=invoice["total_minor"], currency=invoice["currency"],
        plan_name=invoice["plan_name"] or "subscription", reason=await latest_refusal(payload["invoice_id"]),
        next_attempt=_day(payload.get("next_attempt_at")), final_action=payload.get("final_action"),
    )  # fmt: skip


async def reminder(settings: Settings, payload: dict[str, Any]) -> OutgoingMail | None:
    """``renewal`` (upcoming renewal) or ``trial`` (trial ending), saying what the notice announced when it was
    written. None when what it announces is still ahead and no longer happens (canceled or paused since); one
    whose moment has passed was due, and is sent (a test clock's advance outruns the outbox)."""
    subscription_id, kind = int(payload["subscription_id"]), payload["kind"]
    sub = await _subscription(subscription_id)
    if sub is None:
        return None
    ends = clock.as_utc(datetime.fromisoformat(payload["ends_at"]))
    if ends > await customer_now(sub["customer"]) and not _still_renews(sub, kind):
        return None
    # Events written before they carried the announcement: decided now, as the billing run will decide it.
    announced = payload.get("announced") or announcement(await upcoming_renewal(subscription_id))
    if announced is None:
        return None
    if kind == "trial":
        template, subject = "billing_trial_ending", f"Your {settings.site_name} trial ends soon"
    else:
        template, subject = "billing_upcoming_renewal", f"Your {settings.site_name} subscription renews soon"
    return _mail(settings, template, sub, subject, renews_on=_day(ends), **announced)


def _still_renews(sub: dict[str, Any], kind: str) -> bool:
    status = Subscription.Status.trialing if kind == "trial" else Subscription.Status.active
    return sub["status"] == status and not sub["cancel_at_period_end"]


async def price_notice(settings: Settings, payload: dict[str, Any]) -> OutgoingMail | None:
    """A move to a new price, announced as decided when its notice fell due (``app.billing.price_moves``).
    None when the move was replaced since (its replacement has its own notice), or when its renewal is still
    ahead and the subscription no longer comes to it on the price it moves from (canceled, plan changed)."""
    move = await PriceMove.select(
        PriceMove.canceled_at, PriceMove.from_plan, PriceMove.subscription._.plan.as_alias("plan"),
        PriceMove.subscription._.status.as_alias("status"),
        PriceMove.subscription._.cancel_at_period_end.as_alias("cancel_at_period_end"),
    ).where(PriceMove.id == payload["move_id"]).first()  # fmt: skip
    sub = await _subscription(int(payload["subscription_id"]))
    if move is None or sub is None or move["canceled_at"] is not None:
        return None
    effective = clock.as_utc(datetime.fromisoformat(payload["effective_at"]))
    renews = move["plan"] == move["from_plan"] and move["status"] in MOVABLE and not move["cancel_at_period_end"]
    if effective > await customer_now(sub["customer"]) and not renews:
        return None
    subject = f"The price of your {settings.site_name} subscription is changing"
    return _mail(settings, "billing_price_change", sub, subject, effective_on=_day(effective), **payload["announced"])


async def subscription_canceled(settings: Settings, subscription_id: int) -> OutgoingMail | None:
    sub = await _subscription(subscription_id)
    if sub is None or sub["status"] != Subscription.Status.canceled:
        return None
    return _mail(
        settings, "billing_subscription_canceled", sub, f"Your {settings.site_name} subscription has ended",
        plan_name=sub["plan_name"], ended_on=_day(sub["ended_at"]), reason=sub["cancel_reason"],
    )  # fmt: skip
