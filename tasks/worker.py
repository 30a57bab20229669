"""arq WorkerSettings: ``arq tasks.worker.WorkerSettings`` (or ``python -m app worker``) runs these jobs.

The same FUNCTIONS and CRON_JOBS run in process when no Redis is configured (app.jobs.InProcessJobQueue).
"""

from __future__ import annotations

from typing import Any

from arq import cron
from arq.connections import RedisSettings
from litestar.stores.registry import StoreRegistry

from app.billing.batch_charger import BatchCharger
from app.billing.charger import InvoiceCharger
from app.content.runtime import ContentRuntime, install_outbox_handlers
from app.db import close_database, open_database
from app.jobs import ArqJobQueue, JobContext, JobFunction
from app.mail import mailer_for
from app.payments.gateway import PaymentGateway
from app.payments.service import gateway_for
from app.settings import BillingSettings, Settings, get_settings
from app.stores import build_store_registry, connect_redis
from tasks.billing import billing_tick, collect_invoices, expire_checkouts, remind_renewals, renew_shard
from tasks.content import publish_scheduled, send_content_digests
from tasks.mail import send_email
from tasks.outbox import dispatch_outbox
from tasks.payments import reconcile_payment, reconcile_payments, reconcile_refund
from tasks.support import support_tick

FUNCTIONS: list[JobFunction] = [
    send_email,
    dispatch_outbox,
    billing_tick,
    renew_shard,
    expire_checkouts,
    collect_invoices,
    remind_renewals,
    reconcile_payment,
    reconcile_refund,
    reconcile_payments,
    publish_scheduled,
    send_content_digests,
    support_tick,
]

CRON_JOBS = [
    # Every 10 seconds: domain events reach mail, partner webhooks and caches within seconds of the commit.
    cron(dispatch_outbox, second=set(range(0, 60, 10)), unique=True, run_at_startup=True),
    # Every minute: the billing run fans out shard jobs (tasks.billing); the tick itself renews nothing.
    cron(billing_tick, second=0, unique=True, run_at_startup=True),
    # Every minute: payments and refunds whose answer was lost are asked about again with their own key.
    cron(reconcile_payments, second=30, unique=True),
    # Every minute: scheduled content publishes itself (and retires cached catalog pages).
    cron(publish_scheduled, second=15, unique=True, run_at_startup=True),
    # Hourly: opted-in customers whose week is up get the digest of new content (one mail a week each).
    cron(send_content_digests, minute=5, second=0, unique=True),
    # Every hour: upcoming-renewal and trial-ending reminders (each subscription period's once).
    cron(remind_renewals, minute=5, second=15, unique=True, run_at_startup=True),
    # Hourly: solved tickets close after SUPPORT_AUTO_CLOSE_DAYS; ticket form visits are settled (deflections).
    cron(support_tick, minute=20, second=30, unique=True, run_at_startup=True),
]


def queue_name(settings: Settings) -> str:
    return f"{settings.redis.prefix}:queue"


def build_context(
    settings: Settings, stores: StoreRegistry | None = None, content: ContentRuntime | None = None
) -> JobContext:
    """What every job finds in ``ctx``, whichever engine runs it. ``stores`` and ``content``: the web app's own,
    when jobs run in its process (one catalog cache and one entitlement cache per process, the ones the pages
    use); else built here (Redis)."""
    if content is None:
        content = ContentRuntime.build(settings, stores or build_store_registry(settings, connect_redis(settings)))
    install_outbox_handlers(content)
    gateway = gateway_for(settings)
    return {
        "settings": settings,
        "mailer": mailer_for(settings.mail),
        "gateway": gateway,
        "content": content,
        **chargers(gateway, settings.billing),
    }


def chargers(gateway: PaymentGateway, policy: BillingSettings) -> dict[str, Any]:
    """The billing jobs' chargers, as ``ctx`` carries them (the worker, and tests and benches that run its jobs)."""
    charger = InvoiceCharger(gateway, policy)
    return {
        # The billing run's charger: one attempt through the gateway, then settlement or dunning.
        "charge_invoice": charger,
        # A renewal shard's invoices charged as one batch (set-based bookkeeping); the rest go to the charger.
        "charge_batch": BatchCharger(gateway, policy, charger),
    }


def prepare(ctx: dict[str, Any], settings: Settings) -> None:
    """An arq worker's job context, on the worker's own Redis connection."""
    ctx.update(build_context(settings, build_store_registry(settings, ctx["redis"])))
    ctx["queue"] = ArqJobQueue(ctx["redis"], queue_name(settings))


async def startup(ctx: dict[str, Any]) -> None:
    prepare(ctx, get_settings())
    await open_database()


async def shutdown(ctx: dict[str, Any]) -> None:
    await close_database()


def _redis_settings() -> RedisSettings:
    url = get_settings().redis.url
    return RedisSettings.from_dsn(url) if url else RedisSettings()


class WorkerSettings:
    functions = FUNCTIONS
    cron_jobs = CRON_JOBS
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = _redis_settings()
    queue_name = queue_name(get_settings())
    max_tries = 5
    job_timeout = 300
    keep_result = 3600
