"""Which open invoices to charge now, leased so that no two workers charge the same one at once.

Retries are rows, not sleeping jobs: an open invoice carries ``next_payment_attempt_at`` (set at
finalization, moved on by each failed attempt, cleared when paid or closed). A lease pushes it ``LEASE`` into
the future in the claiming transaction; the charger then either settles the invoice or records the failure
with the next attempt time, and if it dies half-way the lease simply runs out and a later tick tries again
(with the payment's stored idempotency key, the gateway never charges twice). Times are each customer's own
(their test clock, else real time).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from app import clock
from app.billing.customer_time import CUSTOMER_NOW
from app.db import fetch, for_update, read_time, write_transaction
from tables.billing import Invoice

LEASE = timedelta(minutes=10)
DEFAULT_LIMIT = 200

_DUE = (
    f"SELECT i.id, {CUSTOMER_NOW} AS at FROM invoice i JOIN customer c ON c.id = i.customer "  # noqa: S608
    "LEFT JOIN test_clock tc ON tc.id = c.test_clock "
    f"WHERE i.status = {{}} AND i.next_payment_attempt_at <= {CUSTOMER_NOW}"
)


async def lease_invoices(
    *,
    now: datetime | None = None,
    invoice_ids: Sequence[int] | None = None,
    limit: int = DEFAULT_LIMIT,
    lease: timedelta = LEASE,
) -> list[int]:
    """Lease up to ``limit`` invoices due for a charge attempt (only among ``invoice_ids`` when given, e.g.
    the ones a shard just generated); returns the ids this caller may now charge."""
    now = now or clock.now()
    sql, args = _DUE, [now, Invoice.Status.open.value, now]
    if invoice_ids is not None:
        if not invoice_ids:
            return []
        sql += " AND i.id IN (" + ", ".join("{}" for _ in invoice_ids) + ")"
        args += list(invoice_ids)
    sql += " ORDER BY i.next_payment_attempt_at, i.id LIMIT {}" + for_update(skip_locked=True, of="i")
    args.append(limit)
    async with write_transaction():
        rows = await fetch(sql, *args)
        by_time: dict[datetime, list[int]] = {}
        for row in rows:
            by_time.setdefault(read_time(row["at"]), []).append(row["id"])
        for at, ids in by_time.items():  # one group for real time, one per test clock
            await Invoice.update({Invoice.next_payment_attempt_at: at + lease}).where(Invoice.id.is_in(ids))
    return [row["id"] for row in rows]
