from __future__ import annotations

from app.jobs import JobContext
from app.support import deflection
from app.support.service import close_solved_tickets


async def support_tick(ctx: JobContext) -> dict[str, int]:
    """Hourly: close tickets solved SUPPORT_AUTO_CLOSE_DAYS ago with no word since, and settle the ticket
    form visits whose day to count as deflected (or not) has passed."""
    closed = await close_solved_tickets(ctx["settings"].support.auto_close_days)
    settled = await deflection.settle()
    return {"closed": closed, "settled": settled}
