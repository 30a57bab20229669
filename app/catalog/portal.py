from __future__ import annotations

from itertools import groupby

from litestar import Controller, get
from litestar.response import Template

from app.catalog import service


class PricingPortal(Controller):
    include_in_schema = False

    @get("/", name="home")
    async def home(self) -> Template:
        plans = await service.list_public_plans()
        products = [(name, list(group)) for name, group in groupby(plans, key=lambda p: p.product_name)]
        return Template("catalog/home.html", context={"products": products})
