"""The billing tick's fan-out: split the due subscriptions into id ranges of a few hundred, one job each.

arq carries a few hundred jobs a second, so one job per subscription would make the queue the bottleneck;
a shard job renews a whole range in batched transactions. Job ids are deterministic per range and minute,
so a tick that runs twice (two schedulers, a restart) enqueues each shard once; ranges from different ticks
may overlap, which is harmless: shard jobs claim rows with SKIP LOCKED and only renew what is still due.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app import clock
from app.billing.renewals import DUE_FROM_WHERE, due_arguments
from tables.subscriptions import Subscription

DEFAULT_SHARD_SIZE = 300

_SHARDS = (
    "SELECT MIN(id) AS first_id, MAX(id) AS last_id, COUNT(*) AS size FROM ("  # noqa: S608 - code constants
    "SELECT s.id, (ROW_NUMBER() OVER (ORDER BY s.id) - 1) / {} AS shard" + DUE_FROM_WHERE + ") due "
    "GROUP BY shard ORDER BY shard"
)


@dataclass(frozen=True, slots=True)
class Shard:
    first_id: int
    last_id: int
    size: int  # due subscriptions in the range when it was planned

    def job_id(self, tick: int) -> str:
        return f"renew:{self.first_id}-{self.last_id}:{tick}"


def tick_of(at: datetime) -> int:
    """The minute a tick belongs to: the part of a job id that lets the next minute's tick enqueue again."""
    return int(at.timestamp()) // 60


async def plan_shards(*, now: datetime | None = None, shard_size: int = DEFAULT_SHARD_SIZE) -> list[Shard]:
    """Contiguous id ranges covering every due subscription, ``shard_size`` due rows each (the last fewer)."""
    rows = await Subscription.raw(_SHARDS, shard_size, *due_arguments(now or clock.now()))
    return [Shard(int(r["first_id"]), int(r["last_id"]), int(r["size"])) for r in rows]
