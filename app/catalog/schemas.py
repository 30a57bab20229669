from __future__ import annotations

import msgspec

from app.money import format_money


class PlanFeatureView(msgspec.Struct, frozen=True):
    key: str
    name: str
    limit: int | None


class PlanView(msgspec.Struct, frozen=True):
    code: str
    name: str
    description: str
    product_name: str
    product_slug: str
    amount_minor: int
    currency: str
    interval: str
    interval_count: int
    trial_days: int
    features: tuple[PlanFeatureView, ...]

    @property
    def price(self) -> str:
        return format_money(self.amount_minor, self.currency)

    @property
    def cadence(self) -> str:
        """'month', '3 months', 'year'."""
        if self.interval_count == 1:
            return self.interval
        return f"{self.interval_count} {self.interval}s"
