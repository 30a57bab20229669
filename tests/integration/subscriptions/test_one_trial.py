"""One free trial per customer and product (TRIAL_ELIGIBILITY): read from the subscription history. The rule
(app/subscriptions/trials.py) under each setting, then the portal journey: a trial cancelled at once and a
second subscribe pays at checkout, the pricing and subscribe pages saying so before the click."""

from __future__ import annotations

import re

import httpx
import pytest

from app.billing import service as invoices
from app.errors import Conflict
from app.settings import TrialEligibility
from app.subscriptions import checkout, service, trials
from app.subscriptions.service import TrialUsed
from tables.accounts import Customer
from tables.billing import Invoice
from tables.catalog import Plan
from tables.subscriptions import Subscription
from tests import factories
from tests.integration.subscriptions.conftest import Catalog, sign_up, submit
from tests.paypal import Buyer, SandboxControl
from tests.portal import csrf_token

NO_TRIAL = "No free trial: you have had one"


async def courses_trial_plan() -> Plan:
    """A second product with a trial of its own."""
    return await factories.plan(product=(await factories.product(name="Courses")).id, code="courses-monthly",
                                name="Courses", amount_minor=1200, trial_days=14)  # fmt: skip


async def had_a_trial(customer_id: int, plan: Plan) -> int:
    """A trial started (PayPal vaulted) and then cancelled at once, through the lifecycle."""
    subscribed = await service.subscribe(customer_id, plan.id, actor="customer")
    assert subscribed.trial_end is not None
    await service.start_trial(subscribed.subscription_id, actor="customer")
    await service.cancel(subscribed.subscription_id, actor="customer", reason="just looking", at_period_end=False)
    return subscribed.subscription_id


async def paid_then_left(customer_id: int, plan: Plan) -> None:
    """A paid subscription (its first invoice paid, so active), cancelled at once."""
    subscribed = await service.subscribe(customer_id, plan.id, actor="customer")
    assert subscribed.invoice is not None
    await invoices.mark_paid(subscribed.invoice.id, actor="payments")
    await service.activate(subscribed.subscription_id, actor="payments")
    await service.cancel(subscribed.subscription_id, actor="customer", reason="too dear", at_period_end=False)


async def days(customer_id: int, plan: Plan, policy: TrialEligibility) -> int:
    return (await trials.offer(customer_id, plan.id, policy)).days


@pytest.mark.parametrize(
    ("policy", "same_product", "other_product"),
    [("once_per_product", 0, 14), ("once_per_customer", 0, 0), ("always", 7, 14)],
)
async def test_after_a_trial_the_rule_offers_no_other_under_each_setting(
    catalog: Catalog, policy: TrialEligibility, same_product: int, other_product: int
) -> None:
    courses = await courses_trial_plan()
    customer = await factories.customer()
    assert (await days(customer.id, catalog.basic, policy), await days(customer.id, courses, policy)) == (7, 14)

    await had_a_trial(customer.id, catalog.basic)

    assert await days(customer.id, catalog.basic, policy) == same_product
    assert await days(customer.id, courses, policy) == other_product
    again = await service.subscribe(customer.id, catalog.basic.id, actor="customer", trial_policy=policy)
    assert (again.trial_end is None) == (same_product == 0)
    assert (again.invoice is not None) == (same_product == 0)  # no trial: the first invoice is due at checkout


async def test_a_customer_who_paid_for_the_product_gets_no_trial_of_it(catalog: Catalog) -> None:
    courses = await courses_trial_plan()
    customer = await factories.customer()

    await paid_then_left(customer.id, catalog.plus)  # Library's Plus, paid, then cancelled

    assert await days(customer.id, catalog.basic, "once_per_product") == 0  # Library's Basic: no trial
    assert await days(customer.id, courses, "once_per_product") == 14
    assert await days(customer.id, courses, "once_per_customer") == 0


async def test_a_trial_that_never_started_does_not_count(catalog: Catalog) -> None:
    """Checkouts left before PayPal's approval: one lapsed, one replaced by choosing another plan (both
    rows keep their trial_end; neither was ever trialing)."""
    customer = await factories.customer()
    lapsed = await service.subscribe(customer.id, catalog.basic.id, actor="customer")
    assert await service.expire_incomplete(now=lapsed.period.start + service.INCOMPLETE_EXPIRES_AFTER) == [
        lapsed.subscription_id
    ]
    replaced = await checkout.start(customer.id, await checkout.plan_for_sale("basic-monthly"), actor="customer")
    await checkout.start(customer.id, await checkout.plan_for_sale("plus-monthly"), actor="customer")
    rows = await Subscription.select(Subscription.status).where(Subscription.trial_end.is_not_null())
    assert sorted(r["status"] for r in rows) == ["canceled", "incomplete_expired"]
    assert replaced.trial

    assert await days(customer.id, catalog.basic, "once_per_product") == 7


async def test_a_trial_checkout_overtaken_by_another_trial_does_not_start(catalog: Catalog) -> None:
    """Once per customer, two products' trial checkouts open at once: the first approved starts, the second
    is refused, and choosing its plan again checks out paid."""
    courses = await courses_trial_plan()
    customer = await factories.customer()
    policy: TrialEligibility = "once_per_customer"
    library = await checkout.start(customer.id, await checkout.plan_for_sale("basic-monthly"), actor="c",
                                   trial_policy=policy)  # fmt: skip
    other = await checkout.start(customer.id, await checkout.plan_for_sale("courses-monthly"), actor="c",
                                 trial_policy=policy)  # fmt: skip
    assert library.trial and other.trial
    await service.start_trial(library.subscription_id, actor="c", trial_policy=policy)

    with pytest.raises(TrialUsed) as refused:
        await service.start_trial(other.subscription_id, actor="c", trial_policy=policy)

    assert isinstance(refused.value, Conflict)
    again = await checkout.start(customer.id, await checkout.plan_for_sale(courses.code), actor="c",
                                 trial_policy=policy)  # fmt: skip
    assert (again.trial, again.subscription_id != other.subscription_id, again.invoice_id is not None) == (
        False, True, True
    )  # fmt: skip
    stale = await Subscription.select(Subscription.status).where(Subscription.id == other.subscription_id)
    assert stale == [{"status": "canceled"}]


async def test_cancelling_a_trial_now_and_subscribing_again_pays_at_checkout(
    client: httpx.AsyncClient, new_client: httpx.AsyncClient, catalog: Catalog, customer: Customer, buyer: Buyer,
    sandbox: SandboxControl,
) -> None:  # fmt: skip
    # Ada's trial of Basic, then "cancel now".
    page = await client.get("/subscribe/basic-monthly")
    assert "Your 7-day free trial starts today" in page.text
    started = await client.post("/subscribe/basic-monthly", data={"_csrf_token": csrf_token(page.text)})
    await buyer.approve(started.headers["location"])
    await client.get(buyer.last_redirect)
    [trial] = await Subscription.select(Subscription.id, Subscription.status)
    assert trial["status"] == "trialing"
    cancel = f"/account/subscriptions/{trial['id']}/cancel"
    await submit(client, cancel, cancel, {"when": "now", "reason": "Just looking"})

    # Before the click: the pricing page and the subscribe page say there is no second trial, in plain words.
    home = await client.get("/")
    basic_card = re.search(r'data-plan="basic-monthly">(.*?)</li>', home.text, re.S)
    assert basic_card
    assert NO_TRIAL in basic_card.group(1)
    assert "7-day free trial" not in basic_card.group(1)
    page = await client.get("/subscribe/basic-monthly")
    assert NO_TRIAL in page.text
    assert "Pay $9.00 with PayPal" in page.text
    assert "free trial starts today" not in page.text
    # Somebody else (and a visitor) is still offered the trial.
    assert "7-day free trial" in (await new_client.get("/")).text
    await sign_up(new_client, "grace@example.com")
    assert "Your 7-day free trial starts today" in (await new_client.get("/subscribe/basic-monthly")).text

    # The click: PayPal's checkout for the first month, captured on return; no second trial.
    started = await client.post("/subscribe/basic-monthly", data={"_csrf_token": csrf_token(page.text)})
    assert "/agreements/approve" not in started.headers["location"]  # not a vault set-up: a payment
    await buyer.approve(started.headers["location"])
    back = await client.get(buyer.last_redirect)

    assert back.headers["location"] == "/account/subscriptions"
    second = await Subscription.select().where(Subscription.id != trial["id"]).first()
    assert second is not None
    assert (second["status"], second["trial_end"]) == ("active", None)
    [invoice] = await Invoice.select().where(Invoice.subscription == second["id"])
    assert (invoice["billing_reason"], invoice["status"], invoice["total_minor"]) == (
        "subscription_create",
        "paid",
        900,
    )
    [capture] = await sandbox.new_captures()
    assert capture["amount"] == "9.00"


async def test_a_former_paying_customer_is_told_there_is_no_trial(
    client: httpx.AsyncClient, catalog: Catalog, customer: Customer
) -> None:
    await paid_then_left(customer.id, catalog.plus)

    assert NO_TRIAL in (await client.get("/subscribe/basic-monthly")).text
    assert NO_TRIAL in (await client.get("/")).text
