from __future__ import annotations

from app.jobs import JobContext
from app.outbox.service import dispatch_pending


async def dispatch_outbox(ctx: JobContext) -> int:
    """Cron tick: deliver pending domain events until a batch comes back short."""
    total = 0
    while (count := await dispatch_pending()) > 0:
        total += count
    return total
