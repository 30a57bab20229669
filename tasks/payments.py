"""Payment jobs: settle outcomes nobody heard. The tick only fans out; each job settles one payment or refund
by asking PayPal again with the attempt's own PayPal-Request-Id (never a new charge)."""

from __future__ import annotations

from app import clock
from app.jobs import JobContext
from app.payments import refunds, service


async def reconcile_payment(ctx: JobContext, payment_id: int) -> str:
    outcome = await service.reconcile_unknown(ctx["gateway"], payment_id)
    return outcome.status


async def reconcile_refund(ctx: JobContext, refund_id: int) -> str:
    outcome = await refunds.reconcile_refund(ctx["gateway"], refund_id)
    return outcome.status


async def reconcile_payments(ctx: JobContext) -> int:
    """Cron tick: one job per unsettled payment or refund; ids carry the minute so a later tick can retry."""
    minute = clock.now().strftime("%Y%m%d%H%M")
    queued = 0
    for payment_id in await service.payments_to_reconcile():
        queued += await ctx["queue"].enqueue("reconcile_payment", payment_id, job_id=f"reconcile:{payment_id}:{minute}")
    for refund_id in await refunds.refunds_to_reconcile():
        queued += await ctx["queue"].enqueue("reconcile_refund", refund_id, job_id=f"refund:{refund_id}:{minute}")
    return queued
