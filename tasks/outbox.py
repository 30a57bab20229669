from __future__ import annotations

from collections.abc import Mapping, Sequence

from app.billing.events import billing_handlers
from app.jobs import JobContext
from app.outbox.service import Handler, dispatch_pending, subscribers
from app.support.mails import support_handlers


def outbox_handlers(ctx: JobContext) -> Mapping[str, Sequence[Handler]]:
    """Every subscriber: those registered with ``subscribe`` and the ones bound to this job context (billing and
    support need the settings and the job queue to send their e-mails)."""
    handlers: dict[str, list[Handler]] = {pattern: list(hs) for pattern, hs in subscribers().items()}
    for bound in (billing_handlers(ctx), support_handlers(ctx)):
        for pattern, hs in bound.items():
            handlers.setdefault(pattern, []).extend(hs)
    return handlers


async def dispatch_outbox(ctx: JobContext) -> int:
    """Cron tick: deliver pending domain events until a batch comes back short."""
    handlers = outbox_handlers(ctx)
    total = 0
    while (count := await dispatch_pending(handlers)) > 0:
        total += count
    return total
