"""Plans as billing reads them (``PlanTerms``): one query for any number of plans."""

from __future__ import annotations

from collections.abc import Iterable

from app.billing.lines import PlanTerms
from app.billing.periods import Interval
from tables.catalog import Plan


async def plan_terms_by_id(plan_ids: Iterable[int]) -> dict[int, PlanTerms]:
    rows = await Plan.select(
        Plan.id, Plan.name, Plan.amount_minor, Plan.currency, Plan.interval, Plan.interval_count
    ).where(Plan.id.is_in(list(plan_ids)))
    return {
        r["id"]: PlanTerms(
            r["id"], r["name"], r["amount_minor"], r["currency"], Interval.of(r["interval"], r["interval_count"])
        )
        for r in rows
    }
