"""Counting the questions help articles answered before a ticket was needed ("deflected"), fairly.

The unit is one visit to the new-ticket form (the random ``draft`` id the form carries), not an article view:

- a visit counts only once a suggested article was *opened* from it: suggestions merely shown prove nothing;
- opening three articles in one visit is one visit, not three deflections;
- sending the form anyway is ``submitted``: the articles did not answer the question;
- people leave, read and come back: a visit is settled only a day (``WINDOW``) after its first article was
  opened, as ``ticket_later`` when the customer opened any ticket in that day (web or e-mail), else
  ``deflected``.

The rows are stored (``HelpDeflection``, read-only in the admin), settled by the hourly support job
(``settle``), and ``report`` counts them for any period.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from app import clock
from tables.support import HelpDeflection, Ticket

WINDOW = timedelta(hours=24)
Outcome = HelpDeflection.Outcome
_DRAFT = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def valid_draft(draft: str) -> bool:
    return bool(_DRAFT.match(draft))


async def record_opened(customer_id: int, draft: str, article_id: int) -> None:
    """The customer opened a suggested article from the form visit ``draft``."""
    if not valid_draft(draft):
        return
    inserted = await (
        HelpDeflection.insert(
            HelpDeflection(draft=draft, customer=customer_id, first_article=article_id, opened_at=clock.now())
        )
        .on_conflict(action="DO NOTHING")
        .returning(HelpDeflection.id)
    )
    if not inserted:  # a further article in the same visit (only the visit's own customer counts)
        await HelpDeflection.update({HelpDeflection.articles_opened: HelpDeflection.articles_opened + 1}).where(
            (HelpDeflection.draft == draft)
            & (HelpDeflection.customer == customer_id)
            & (HelpDeflection.outcome == Outcome.pending)
        )


async def mark_submitted(customer_id: int, draft: str, ticket_id: int) -> None:
    """The form of visit ``draft`` was sent: call in the transaction that opens the ticket."""
    if not valid_draft(draft):
        return
    await HelpDeflection.update(
        {HelpDeflection.outcome: Outcome.submitted, HelpDeflection.ticket: ticket_id,
         HelpDeflection.settled_at: clock.now()}
    ).where(
        (HelpDeflection.draft == draft) & (HelpDeflection.customer == customer_id)
        & (HelpDeflection.outcome == Outcome.pending)
    )  # fmt: skip


async def settle(now: datetime | None = None) -> int:
    """Settle every visit whose window has passed; returns how many."""
    now = now or clock.now()
    due = await HelpDeflection.select(HelpDeflection.id, HelpDeflection.customer, HelpDeflection.opened_at).where(
        (HelpDeflection.outcome == Outcome.pending) & (HelpDeflection.opened_at <= now - WINDOW)
    )
    for row in due:
        opened = clock.as_utc(row["opened_at"])
        later = (
            await Ticket.select(Ticket.id)
            .where(
                (Ticket.customer == row["customer"]) & (Ticket.created_at >= opened)
                & (Ticket.created_at < opened + WINDOW)
            )
            .order_by(Ticket.id)
            .first()
        )  # fmt: skip
        outcome = Outcome.ticket_later if later else Outcome.deflected
        await HelpDeflection.update(
            {HelpDeflection.outcome: outcome, HelpDeflection.ticket: later["id"] if later else None,
             HelpDeflection.settled_at: now}
        ).where((HelpDeflection.id == row["id"]) & (HelpDeflection.outcome == Outcome.pending))  # fmt: skip
    return len(due)


@dataclass(frozen=True, slots=True)
class DeflectionReport:
    deflected: int
    submitted: int
    ticket_later: int
    pending: int

    @property
    def settled(self) -> int:
        return self.deflected + self.submitted + self.ticket_later

    @property
    def rate(self) -> float | None:
        """Of the settled visits where an article was opened, the share that needed no ticket."""
        return self.deflected / self.settled if self.settled else None


async def report(since: datetime, until: datetime) -> DeflectionReport:
    """Form visits whose first article was opened in [since, until), by outcome."""
    rows = await HelpDeflection.select(HelpDeflection.outcome).where(
        (HelpDeflection.opened_at >= since) & (HelpDeflection.opened_at < until)
    )
    counts = dict.fromkeys(Outcome, 0)
    for row in rows:
        counts[Outcome(row["outcome"])] += 1
    return DeflectionReport(
        deflected=counts[Outcome.deflected],
        submitted=counts[Outcome.submitted],
        ticket_later=counts[Outcome.ticket_later],
        pending=counts[Outcome.pending],
    )
