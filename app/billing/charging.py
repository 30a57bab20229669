"""The seam between generating renewal invoices and collecting them.

Billing does not talk to a gateway. The charging step is a function ``charge(invoice_id)`` supplied by the
payments service (issue 4) and put into the worker context as ``ctx["charge_invoice"]``; it stores its
idempotency key before calling the gateway and records the outcome (invoice paid, or the subscription's
``renew_failed`` transition and the next attempt time). ``charge_invoices`` runs it for a list of invoices,
after the generating transaction committed, with a bounded number in flight.

Until a charger is wired, the invoices stay open with ``next_payment_attempt_at`` set: nothing is lost, a
collector that selects open invoices whose attempt time has come picks them up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

log = logging.getLogger("recurra.billing.charging")

ChargeInvoice = Callable[[int], Awaitable[None]]
ChargeBatch = Callable[[Sequence[int]], Awaitable["ChargeReport"]]  # a shard's invoices at once (batch_charger)
DEFAULT_CONCURRENCY = 20  # the gateway, not Recurra, is the limit: keep many charges in flight, not unbounded


@dataclass(slots=True)
class ChargeReport:
    attempted: int = 0
    errors: dict[int, str] = field(default_factory=dict)  # invoice id -> what went wrong (it stays open)


async def charge_invoices(
    invoice_ids: Sequence[int], charge: ChargeInvoice, *, concurrency: int = DEFAULT_CONCURRENCY
) -> ChargeReport:
    """Charge each invoice once, ``concurrency`` at a time; one failure never stops the others."""
    report = ChargeReport()
    gate = asyncio.Semaphore(concurrency)

    async def one(invoice_id: int) -> None:
        async with gate:
            try:
                await charge(invoice_id)
            except Exception as exc:  # the charger records outcomes; an escape here is a bug to log, not retry
                log.exception("charging invoice %s failed", invoice_id)
                report.errors[invoice_id] = f"{type(exc).__name__}: {exc}"

    await asyncio.gather(*(one(invoice_id) for invoice_id in invoice_ids))
    report.attempted = len(invoice_ids)
    return report
