"""What a customer may use right now: the one definition of "this subscription grants access".

Entitlements (feature keys such as ``library``, ``hd_video``) derive from the plans of the customer's
subscriptions that grant access at an instant (DESIGN.md section 3):

- ``trialing`` and ``active`` grant access; with ``cancel_at_period_end`` only until ``current_period_end``;
- ``past_due`` grants access until ``current_period_end``: a renewal has already moved that to the end of the
  period being collected, so this is the dunning grace (retries end in ``unpaid`` or ``canceled`` long before),
  and each subscription's own dates decide it, never another subscription's failure;
- ``incomplete``, ``paused``, ``unpaid``, ``canceled`` and ``incomplete_expired`` grant nothing.

``EntitlementCache`` keeps each customer's entitlements in a store. An entry is valid until the earliest
instant at which time alone could change it (a period end), so access ends exactly then without any
invalidation. Subscription events (``subscription.*``) delete the customer's entry the moment the change
commits (an outbox on-commit handler, in the process that made it) and again when dispatched; a plan's
features changing bumps a version that retires every entry at once. Once a period has ended, what follows
is the billing run's to decide (renew, downgrade, dunning), written in bulk: until it has, the customer's
entitlements are computed afresh at every read, so the run's outcome counts from its commit.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from litestar.stores.base import Store

from app import clock
from app.billing.customer_time import test_clock_time
from app.outbox.service import DomainEvent
from app.stores import StoreVersion
from app.subscriptions.states import Status
from tables.catalog import PlanFeature
from tables.subscriptions import Subscription

ACCESS_STATUSES = (Status.trialing, Status.active, Status.past_due)
MAX_CACHE_S = 3600  # an entry is recomputed at least this often, whatever happens to the outbox
_VERSION_KEY = "entitlements:version"


def grants_access(status: str, current_period_end: datetime, cancel_at_period_end: bool, at: datetime) -> bool:
    """Whether one subscription in ``status`` gives its plan's features at instant ``at``."""
    if status == Status.past_due or (status in (Status.trialing, Status.active) and cancel_at_period_end):
        return at < current_period_end
    return status in (Status.trialing, Status.active)


@dataclass(frozen=True, slots=True)
class Entitlements:
    """The features a customer has at ``at`` and whether any subscription grants access at all (an item that
    names no feature needs just that). ``valid_until``: the first instant this could change by time alone."""

    customer_id: int
    features: frozenset[str]
    subscribed: bool
    at: datetime
    valid_until: datetime | None
    on_test_clock: bool = False  # a test customer lives on their clock's time: never cached
    awaiting_renewal: bool = False  # a period has ended and the billing run has not renewed it yet: not cached

    @property
    def cacheable(self) -> bool:
        return not (self.on_test_clock or self.awaiting_renewal)

    @property
    def key(self) -> str:
        """Names the entitlement set, not the customer: customers with equal sets share cached pages."""
        if not self.subscribed:
            return "none"
        return "sub:" + ",".join(sorted(self.features))

    def to_json(self) -> str:
        return json.dumps(
            {
                "customer_id": self.customer_id,
                "features": sorted(self.features),
                "subscribed": self.subscribed,
                "at": self.at.isoformat(),
                "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            }
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> Entitlements:
        data = json.loads(raw)
        until = data["valid_until"]
        return cls(
            customer_id=data["customer_id"],
            features=frozenset(data["features"]),
            subscribed=data["subscribed"],
            at=datetime.fromisoformat(data["at"]),
            valid_until=datetime.fromisoformat(until) if until else None,
        )


async def live_feature_keys(customer_id: int, at: datetime | None = None) -> Entitlements:
    """The customer's entitlements at ``at``, from their subscriptions that grant access. Without ``at``: at the
    customer's own now, their test clock's time when they have one (as billing sees them). Two or three queries."""
    on_test_clock = False
    if at is None:
        frozen = await test_clock_time(customer_id)
        on_test_clock = frozen is not None
        at = frozen or clock.now()
    rows = await Subscription.select(
        Subscription.plan, Subscription.status, Subscription.current_period_end, Subscription.cancel_at_period_end
    ).where(Subscription.customer == customer_id, Subscription.status.is_in(list(ACCESS_STATUSES)))
    plans: set[int] = set()
    boundaries: list[datetime] = []
    awaiting_renewal = False
    for row in rows:
        end = clock.as_utc(row["current_period_end"])
        if grants_access(row["status"], end, row["cancel_at_period_end"], at):
            plans.add(row["plan"])
        if end > at:
            boundaries.append(end)  # access may end there (or a renewal / downgrade may change the plan)
        elif not row["cancel_at_period_end"]:
            awaiting_renewal = True  # the run renews it, perhaps on a lower plan, or dunning starts
    features: frozenset[str] = frozenset()
    if plans:
        keys = await PlanFeature.select(PlanFeature.feature.key.as_alias("key")).where(
            PlanFeature.plan.is_in(list(plans))
        )
        features = frozenset(str(r["key"]) for r in keys)
    until = min(boundaries) if boundaries else None
    return Entitlements(customer_id, features, bool(plans), at, until, on_test_clock, awaiting_renewal)


class EntitlementCache:
    """Entitlements per customer in a store (Redis, or in process on the demo)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        # Read on every use (no ttl, unlike the catalog's): an access decision must not lag a plan change.
        self.versions = StoreVersion(store, _VERSION_KEY)

    async def _key(self, customer_id: int, version: str | None = None) -> str:
        return f"entitlements:{version or await self.versions.current()}:{customer_id}"

    async def get(self, customer_id: int, *, fresh: bool = False) -> Entitlements:
        """The customer's entitlements now: from the store while still valid, else computed and stored.
        ``fresh`` skips the store (a refusal re-checks the database, so access starts the moment it is paid)."""
        now = clock.now()
        key = await self._key(customer_id)
        if not fresh and (raw := await self.store.get(key)) is not None:
            cached = Entitlements.from_json(raw)
            if cached.at <= now and (cached.valid_until is None or now < cached.valid_until):
                return cached
        computed = await live_feature_keys(customer_id)
        if not computed.cacheable:
            return computed  # staff move a test clock at will; a due renewal is the billing run's next write
        ttl = MAX_CACHE_S
        if computed.valid_until is not None:
            ttl = max(1, min(ttl, int((computed.valid_until - computed.at).total_seconds()) + 1))
        await self.store.set(key, computed.to_json(), expires_in=ttl)
        return computed

    async def invalidate(self, customer_ids: Iterable[int]) -> None:
        version = await self.versions.current()
        for customer_id in set(customer_ids):
            await self.store.delete(await self._key(customer_id, version))

    async def invalidate_all(self) -> None:
        """Plans changed what they grant: retire every entry (old keys expire on their own)."""
        await self.versions.bump()

    async def on_subscription_events(self, events: Sequence[DomainEvent]) -> None:
        """Outbox handler for ``subscription.*``: those subscriptions' customers are computed afresh next time."""
        ids = {int(event.aggregate_id) for event in events if event.aggregate_type == "subscription"}
        if ids:
            rows = await Subscription.select(Subscription.customer).where(Subscription.id.is_in(list(ids)))
            await self.invalidate(row["customer"] for row in rows)
