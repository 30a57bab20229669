"""Billing's outbox subscribers: money news from the payments domain, and the e-mails billing sends.

- ``payment.succeeded``: settle the invoice (once, whoever hears first: a webhook-settled payment lands here)
  and mail a receipt.
- ``payment.refunded``: issue the credit note for the refund and link it (``Refund.credit_note``), once.
- ``invoice.payment_failed`` (app.billing.dunning), ``subscription.cancel``, ``subscription.reminder``
  (app.billing.reminders), ``subscription.price_notice`` (app.billing.price_moves): the matching e-mail.

Handlers run after the event's transaction committed and may run twice (a crashed dispatcher): settling and
crediting check under a lock, and every e-mail job id is derived from the event id, so arq queues it once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from app.billing import mails
from app.billing.dunning import FAILED_EVENT
from app.billing.price_moves import NOTICE_EVENT as PRICE_NOTICE_EVENT
from app.billing.reminders import EVENT as REMINDER_EVENT
from app.billing.service import issue_credit_note
from app.db import lock_row, write_transaction
from app.jobs import JobContext, JobQueue
from app.mail import OutgoingMail
from app.outbox.service import DomainEvent, Handler
from app.settings import Settings
from app.subscriptions.settlement import settle_open_invoice
from tables.payments import Refund

ACTOR = "system:billing"


async def credit_refund(refund_id: int, *, actor: str = ACTOR) -> int | None:
    """The credit note for a succeeded refund, issued once; returns its id (None: not a refund to credit)."""
    async with write_transaction():
        if not await lock_row(Refund, refund_id):
            return None
        refund = await Refund.select(
            Refund.credit_note, Refund.status, Refund.amount_minor, Refund.reason, Refund.payment.invoice
        ).where(Refund.id == refund_id).first()  # fmt: skip
        if refund is None or refund["status"] != Refund.Status.succeeded:
            return None
        if refund["credit_note"] is not None:
            return int(refund["credit_note"])
        note = await issue_credit_note(
            refund["payment.invoice"], refund["amount_minor"], reason=refund["reason"] or "refund", actor=actor
        )
        await Refund.update({Refund.credit_note: note.id}).where(Refund.id == refund_id)
    return note.id


class BillingSubscribers:
    """The handlers, bound to what they need from the job context (settings, the job queue)."""

    def __init__(self, settings: Settings, queue: JobQueue) -> None:
        self.settings = settings
        self.queue = queue

    def handlers(self) -> dict[str, list[Handler]]:
        return {
            "payment.succeeded": [self.payment_succeeded],
            "payment.refunded": [self.payment_refunded],
            FAILED_EVENT: [self.mailing(self._failed)],
            "subscription.cancel": [self.mailing(self._canceled)],
            REMINDER_EVENT: [self.mailing(self._reminder)],
            PRICE_NOTICE_EVENT: [self.mailing(self._price_notice)],
        }

    async def payment_succeeded(self, event: DomainEvent) -> None:
        payload = event.payload
        if payload.get("invoice_id") is None:
            return
        await settle_open_invoice(payload["invoice_id"], actor=ACTOR)
        mail = await mails.receipt(self.settings, payload["invoice_id"], payload["amount_minor"], payload["currency"])
        await self._send(mail, event)

    async def payment_refunded(self, event: DomainEvent) -> None:
        refund_id = event.payload.get("refund_id")
        if refund_id is not None:
            await credit_refund(int(refund_id))

    def mailing(self, build: Callable[[DomainEvent], Awaitable[OutgoingMail | None]]) -> Handler:
        async def handler(event: DomainEvent) -> None:
            await self._send(await build(event), event)

        return handler

    async def _failed(self, event: DomainEvent) -> OutgoingMail | None:
        return await mails.payment_failed(self.settings, event.payload)

    async def _canceled(self, event: DomainEvent) -> OutgoingMail | None:
        return await mails.subscription_canceled(self.settings, int(event.aggregate_id))

    async def _reminder(self, event: DomainEvent) -> OutgoingMail | None:
        return await mails.reminder(self.settings, event.payload)

    async def _price_notice(self, event: DomainEvent) -> OutgoingMail | None:
        return await mails.price_notice(self.settings, event.payload)

    async def _send(self, mail: OutgoingMail | None, event: DomainEvent) -> None:
        if mail is not None:
            # The event's id and time: unique for the event, also across a database restored or recreated.
            job_id = f"mail:{mail.tag}:event-{event.id}-{event.created_at.timestamp():.6f}"
            await self.queue.enqueue("send_email", mail.to_job(), job_id=job_id)


def billing_handlers(ctx: JobContext) -> dict[str, list[Handler]]:
    return BillingSubscribers(ctx["settings"], ctx["queue"]).handlers()
