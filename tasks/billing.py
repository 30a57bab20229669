"""arq jobs of the billing run: a cron tick that only fans out, and the shard job that does the work."""

from __future__ import annotations

from typing import Any

from app import clock
from app.billing.charging import ChargeBatch, ChargeInvoice, charge_invoices
from app.billing.collection import lease_invoices
from app.billing.fanout import plan_shards, tick_of
from app.billing.price_moves import send_price_notices
from app.billing.reminders import send_reminders
from app.billing.renewals import generate_renewals
from app.jobs import JobContext
from app.subscriptions.service import expire_incomplete


async def billing_tick(ctx: JobContext) -> int:
    """Every minute: enqueue one ``renew_shard`` job per range of due subscriptions (and the lapse of
    abandoned checkouts); returns how many shards. Nothing when ``BILLING_CRON`` is off for this process."""
    if not ctx["settings"].billing.cron_enabled:
        return 0
    tick = tick_of(clock.now())
    shards = await plan_shards()
    for shard in shards:
        await ctx["queue"].enqueue("renew_shard", shard.first_id, shard.last_id, job_id=shard.job_id(tick))
    await ctx["queue"].enqueue("expire_checkouts", job_id=f"expire:{tick}")
    if ctx.get("charge_invoice"):
        await ctx["queue"].enqueue("collect_invoices", job_id=f"collect:{tick}")
    return len(shards)


async def expire_checkouts(ctx: JobContext) -> int:
    """Incomplete subscriptions older than 23 hours lapse and their first invoice is voided."""
    return len(await expire_incomplete())


async def renew_shard(ctx: JobContext, first_id: int, last_id: int) -> dict[str, Any]:
    """Generate the range's renewal invoices (committed), then charge them: as one batch when a batch charger
    is wired (``ctx["charge_batch"]``), else one by one through the charger."""
    result = await generate_renewals(first_id=first_id, last_id=last_id)
    charge: ChargeInvoice | None = ctx.get("charge_invoice")
    batch: ChargeBatch | None = ctx.get("charge_batch")
    report = None
    if (batch or charge) and result.invoice_ids:  # committed first, charged after: never inside generation
        leased = await lease_invoices(invoice_ids=result.invoice_ids, limit=len(result.invoice_ids))
        report = await batch(leased) if batch else await charge_invoices(leased, charge) if charge else None
    return {
        "renewed": result.renewed,
        "ended": result.ended,
        "invoices": len(result.invoice_ids),
        "charged": report.attempted if report else 0,
        "charge_errors": len(report.errors) if report else 0,
    }


async def collect_invoices(ctx: JobContext) -> int:
    """Charge open invoices whose next attempt has come (retries, and any a crashed shard left); returns how
    many were attempted. Without a wired charger there is nothing to do."""
    charge: ChargeInvoice | None = ctx.get("charge_invoice")
    attempted, seen = 0, set[int]()
    # Stop when a lease brings back only invoices already tried in this job: a charger that scheduled the next
    # attempt for "now" must not spin here.
    while charge and (ids := [i for i in await lease_invoices() if i not in seen]):
        seen.update(ids)
        attempted += (await charge_invoices(ids, charge)).attempted
    return attempted


async def remind_renewals(ctx: JobContext) -> int:
    """Hourly: decide the "upcoming renewal", "trial ending" and new-price notices now due (each once); the
    e-mails follow their outbox events. Returns how many notices were written."""
    if not ctx["settings"].billing.cron_enabled:
        return 0
    policy = ctx["settings"].billing
    return len(await send_reminders(policy)) + len(await send_price_notices(policy))
