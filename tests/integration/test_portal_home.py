from __future__ import annotations

import re

import httpx

from app.demo import PLANS, seed_demo
from app.settings import Settings
from tables.catalog import Plan, PlanFeature
from tests import factories


async def test_home_lists_public_active_plans_with_prices_and_features(client: httpx.AsyncClient) -> None:
    library = await factories.feature(key="library", name="Full library")
    monthly = await factories.plan(code="basic-monthly", name="Basic", amount_minor=900)
    await PlanFeature.insert(PlanFeature(plan=monthly.id, feature=library.id))
    await factories.plan(code="yearly", name="Yearly", amount_minor=9000, interval="year", trial_days=14)
    await factories.plan(code="hidden", name="Secret deal", public=False)
    await factories.plan(code="old", name="Retired plan", status=Plan.Status.archived)

    response = await client.get("/")
    assert response.status_code == 200
    page = response.text
    assert 'data-plan="basic-monthly"' in page
    assert "$9.00" in page
    assert "/ month" in page
    assert "Full library" in page
    assert 'data-plan="yearly"' in page
    assert "$90.00" in page
    assert "14-day free trial" in page
    assert "Secret deal" not in page
    assert "Retired plan" not in page


async def test_home_page_shell_is_phone_ready_and_loads_vendored_htmx(client: httpx.AsyncClient) -> None:
    page = (await client.get("/")).text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    script = re.search(r'src="(/static/htmx-[0-9.]+\.min\.js)"', page)
    assert script is not None
    asset = await client.get(script.group(1))
    assert asset.status_code == 200
    assert "htmx" in asset.text[:200]
    assert (await client.get("/static/app.css")).status_code == 200


async def test_home_with_no_plans_says_so(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert "No plans are on sale yet." in response.text


async def test_seed_demo_is_idempotent_and_shows_on_the_home_page(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    first = await seed_demo(settings)
    counts = [await Plan.count(), await PlanFeature.count()]
    second = await seed_demo(settings)
    assert first == second
    assert [await Plan.count(), await PlanFeature.count()] == counts == [len(PLANS), counts[1]]
    page = (await client.get("/")).text
    for code, *_ in PLANS:
        assert f'data-plan="{code}"' in page
