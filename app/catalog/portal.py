from __future__ import annotations

from itertools import groupby

from litestar import Controller, get
from litestar.response import Template

from app.catalog import service
from app.subscriptions import trials
from app.web import AnyRequest, app_settings


class PricingPortal(Controller):
    include_in_schema = False

    @get("/", name="home")
    async def home(self, request: AnyRequest) -> Template:
        plans = await service.list_public_plans()
        products = [(name, list(group)) for name, group in groupby(plans, key=lambda p: p.product_name)]
        # A logged-in customer who has had their trial sees so on each plan that offers one, before the click.
        session = getattr(request.state, "customer_session", None)
        offers = await trials.offers(
            session.customer_id if session else None,
            [p.code for p in plans if p.trial_days],
            app_settings(request).billing.trial_eligibility,
        )
        return Template("catalog/home.html", context={"products": products, "trials": offers})
