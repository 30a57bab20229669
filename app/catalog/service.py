from __future__ import annotations

from collections import defaultdict

from app.catalog.schemas import PlanFeatureView, PlanView
from tables.catalog import Plan, PlanFeature


async def list_public_plans() -> list[PlanView]:
    """Plans on the pricing page: public, active, of active products, cheapest interval first. Two queries."""
    plans = (
        await Plan.select(
            Plan.id,
            Plan.code,
            Plan.name,
            Plan.description,
            Plan.amount_minor,
            Plan.currency,
            Plan.interval,
            Plan.interval_count,
            Plan.trial_days,
            Plan.product.name.as_alias("product_name"),
            Plan.product.slug.as_alias("product_slug"),
        )
        .where(Plan.public.eq(True), Plan.status == Plan.Status.active, Plan.product._.active.eq(True))
        .order_by(Plan.product.name)
        .order_by(Plan.sort_order)
        .order_by(Plan.amount_minor)
    )
    features: dict[int, list[PlanFeatureView]] = defaultdict(list)
    if plans:
        rows = (
            await PlanFeature.select(
                PlanFeature.plan,
                PlanFeature.feature.key.as_alias("key"),
                PlanFeature.feature.name.as_alias("name"),
                PlanFeature.limit_value,
            )
            .where(PlanFeature.plan.is_in([p["id"] for p in plans]))
            .order_by(PlanFeature.feature.name)
        )
        for row in rows:
            features[row["plan"]].append(PlanFeatureView(row["key"], row["name"], row["limit_value"]))
    return [
        PlanView(
            code=p["code"],
            name=p["name"],
            description=p["description"],
            product_name=p["product_name"],
            product_slug=p["product_slug"],
            amount_minor=p["amount_minor"],
            currency=p["currency"],
            interval=p["interval"],
            interval_count=p["interval_count"],
            trial_days=p["trial_days"],
            features=tuple(features[p["id"]]),
        )
        for p in plans
    ]
