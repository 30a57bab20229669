"""A customer's "now": their test clock's frozen time when they have one, else real time (``app.clock``).

In SQL, ``s``, ``c`` and ``tc`` are the aliases the queries use and ``{}`` is the real-time parameter.
"""

from __future__ import annotations

from datetime import datetime

from app import clock
from app.errors import NotFound
from tables.accounts import Customer

SUBSCRIPTIONS_ON_CUSTOMER_TIME = (
    " subscription s JOIN customer c ON c.id = s.customer LEFT JOIN test_clock tc ON tc.id = c.test_clock "
)
CUSTOMER_NOW = "COALESCE(tc.frozen_time, {})"


async def test_clock_time(customer_id: int) -> datetime | None:
    """The frozen time of the customer's test clock; None when they live on real time (or do not exist)."""
    row = (
        await Customer.select(Customer.test_clock.frozen_time.as_alias("frozen_time"))
        .where(Customer.id == customer_id)
        .first()
    )
    return clock.as_utc(row["frozen_time"]) if row and row["frozen_time"] is not None else None


async def customer_now(customer_id: int) -> datetime:
    """The instant this customer lives at: their test clock's frozen time, else real time."""
    frozen = await test_clock_time(customer_id)
    if frozen is not None:
        return frozen
    if not await Customer.exists().where(Customer.id == customer_id):
        raise NotFound(f"There is no customer #{customer_id}.")
    return clock.now()
