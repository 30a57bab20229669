"""Entitlement on and off at the right instants, through the item page, the catalog and signed file links (the
reads customers make).

Each subscription below is read through the HTTP client with the clock frozen: the portal caches
entitlements per customer, and the cache must neither outlive an ending nor delay a start. Changes made in
this process drop the cached entry when they commit, with no outbox dispatch in between."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from litestar import Litestar

from app import clock
from app.billing import dunning
from app.billing.renewals import generate_renewals
from app.billing.testclocks import create_test_customer
from app.outbox.service import dispatch_pending
from app.settings import Settings
from app.subscriptions import service as subscriptions
from app.subscriptions.access import grants_access, live_feature_keys
from app.subscriptions.settlement import settle_paid_invoice
from app.subscriptions.states import Status
from tables.catalog import Feature, PlanFeature
from tables.clocks import TestClock
from tables.outbox import OutboxEvent
from tables.subscriptions import Subscription
from tests import factories
from tests.integration.content.helpers import customer_logged_in, item, media_item, plan_with, runtime
from tests.integration.content.test_delivery import media_url
from tests.integration.staff import staff_session, table
from tests.portal import PASSWORD, log_in, submit


def readable(page: httpx.Response) -> bool:
    assert page.status_code == 200, page.text
    return 'data-readable="yes"' in page.text


async def _setup(client: httpx.AsyncClient) -> tuple[int, int, str]:
    """A customer logged in, a plan granting ``library`` and an item needing it."""
    customer_id = await customer_logged_in(client)
    library = await factories.feature(key="library")
    plan_id = await plan_with(library.id, code="basic", name="Basic")
    locked = await item((library.id,), slug="deep-dive", title="Deep dive")
    return customer_id, plan_id, str(locked.slug)


def test_the_access_rule_by_status() -> None:
    now = clock.now()
    later, earlier = now + timedelta(hours=1), now - timedelta(seconds=1)
    assert grants_access(Status.active, earlier, False, now)  # renewal due: still active until the run says otherwise
    assert grants_access(Status.trialing, later, False, now)
    assert grants_access(Status.active, later, True, now) and not grants_access(Status.active, now, True, now)
    assert grants_access(Status.past_due, later, False, now) and not grants_access(Status.past_due, now, False, now)
    for status in (Status.incomplete, Status.paused, Status.unpaid, Status.canceled, Status.incomplete_expired):
        assert not grants_access(status, later, False, now)


async def test_cancel_at_period_end_keeps_access_until_the_exact_end(client: httpx.AsyncClient) -> None:
    customer_id, plan_id, slug = await _setup(client)
    start = clock.now()
    end = start + timedelta(hours=2)
    sub = await factories.subscription(
        customer=customer_id, plan=plan_id, current_period_start=start, current_period_end=end, billing_anchor=start
    )
    await subscriptions.cancel(sub.id, actor="test", reason="moving", at=start)  # at period end, by default
    assert (await Subscription.select(Subscription.cancel_at_period_end).first())["cancel_at_period_end"]
    await dispatch_pending()
    with clock.frozen_at(end - timedelta(microseconds=1)):
        assert readable(await client.get(f"/catalog/{slug}"))  # cached from here on, valid until `end`
    with clock.frozen_at(end):
        assert not readable(await client.get(f"/catalog/{slug}"))


async def test_past_due_reads_until_its_paid_through_date(client: httpx.AsyncClient) -> None:
    customer_id, plan_id, slug = await _setup(client)
    start = clock.now()
    end = start + timedelta(hours=1)
    await factories.subscription(
        customer=customer_id, plan=plan_id, status=Status.past_due,
        current_period_start=start, current_period_end=end, billing_anchor=start,
    )  # fmt: skip
    with clock.frozen_at(end - timedelta(seconds=1)):
        assert readable(await client.get(f"/catalog/{slug}"))
    with clock.frozen_at(end):
        assert not readable(await client.get(f"/catalog/{slug}"))


async def test_paused_and_unpaid_give_nothing(client: httpx.AsyncClient) -> None:
    customer_id, plan_id, slug = await _setup(client)
    for status in (Status.paused, Status.unpaid, Status.incomplete):
        await factories.subscription(customer=customer_id, plan=plan_id, status=status)
    assert not readable(await client.get(f"/catalog/{slug}"))
    entitlements = await live_feature_keys(customer_id)
    assert not entitlements.subscribed and entitlements.features == frozenset()


async def test_access_starts_the_moment_the_first_payment_activates(client: httpx.AsyncClient) -> None:
    customer_id, plan_id, slug = await _setup(client)
    subscribed = await subscriptions.subscribe(customer_id, plan_id, actor="test")
    assert not readable(await client.get(f"/catalog/{slug}"))  # incomplete: entitlements cached as "none"
    await subscriptions.activate(subscribed.subscription_id, actor="test")
    # No outbox dispatch yet: a refusal re-reads the database, so the paid customer is let in at once.
    assert readable(await client.get(f"/catalog/{slug}"))


async def test_an_immediate_cancel_ends_access_at_its_commit_before_any_dispatch(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    customer_id, plan_id, slug = await _setup(client)
    sub = await factories.subscription(customer=customer_id, plan=plan_id)
    assert readable(await client.get(f"/catalog/{slug}"))
    cached = await runtime(app).entitlements.get(customer_id)
    assert cached.features == {"library"}
    await subscriptions.cancel(sub.id, actor="test", reason="done", at_period_end=False)
    assert not readable(await client.get(f"/catalog/{slug}"))  # dropped when the cancel committed
    await dispatch_pending()  # subscription.cancel drops it again: nothing changes
    assert not readable(await client.get(f"/catalog/{slug}"))


async def _subscriber_with_a_file(app: Litestar, client: httpx.AsyncClient) -> tuple[int, int, str, str]:
    """An active subscriber on a plan granting ``library``, its file item read once (entitlements now cached):
    the subscription, the item's slug and the signed link its page gave."""
    customer_id, plan_id, _ = await _setup(client)
    library = await Feature.select(Feature.id).where(Feature.key == "library").first()
    assert library is not None
    await media_item(app, b"%PDF-1.4 guide", "guide.pdf", "application/pdf", (library["id"],), slug="the-guide")
    sub = await factories.subscription(customer=customer_id, plan=plan_id)  # its first month from now
    page = await client.get("/catalog/the-guide")
    assert readable(page)
    link = media_url(page)
    assert (await client.get(link)).status_code == 200
    assert (await runtime(app).entitlements.get(customer_id)).features == {"library"}
    return customer_id, int(sub.id), "the-guide", link


async def _undispatched(event_type: str) -> int:
    return int(
        await OutboxEvent.count().where(OutboxEvent.event_type == event_type, OutboxEvent.dispatched_at.is_null())
    )


@pytest.mark.parametrize(
    ("action", "form", "event"),
    [("cancel", {"when": "now", "reason": "Too busy"}, "subscription.cancel"), ("pause", {}, "subscription.pause")],
)
async def test_cancelling_now_or_pausing_in_the_portal_refuses_the_very_next_read(
    app: Litestar, client: httpx.AsyncClient, action: str, form: dict[str, str], event: str
) -> None:
    _, sub_id, slug, link = await _subscriber_with_a_file(app, client)
    with clock.frozen_at(clock.now() + timedelta(minutes=1)):  # the cached entry would still be valid
        page = f"/account/subscriptions/{sub_id}/{action}"
        done = await submit(client, page, page, form)
        assert done.status_code == 303, done.text
        assert await _undispatched(event) == 1  # no outbox dispatch in between
        refused = await client.get(link)
        assert refused.status_code == 403 and 'data-reason="not_entitled"' in refused.text
        assert not readable(await client.get(f"/catalog/{slug}"))


async def test_access_starts_on_the_catalog_page_the_moment_the_first_invoice_is_settled(
    client: httpx.AsyncClient,
) -> None:
    customer_id, plan_id, slug = await _setup(client)
    subscribed = await subscriptions.subscribe(customer_id, plan_id, actor="test")
    assert subscribed.invoice is not None
    assert _card_locked(await client.get("/catalog"), slug)  # entitlements cached as "none", the page with them
    with clock.frozen_at(clock.now() + timedelta(seconds=30)):
        await settle_paid_invoice(subscribed.invoice.id, actor="payments")
        assert await _undispatched("subscription.activate") == 1
        assert not _card_locked(await client.get("/catalog"), slug)  # the list re-checks nothing: the cache went


def _card_locked(page: httpx.Response, slug: str) -> bool:
    match = re.search(rf'class="catalog-card( locked)?" data-slug="{slug}"', page.text)
    assert match, page.text
    return match.group(1) is not None


async def test_dunning_giving_up_ends_access_when_it_commits(
    app: Litestar, client: httpx.AsyncClient, settings: Settings
) -> None:
    await _subscriber_with_a_file(app, client)
    (sub,) = await Subscription.select(Subscription.current_period_end)
    end = clock.as_utc(sub["current_period_end"])
    with clock.frozen_at(end):
        (invoice_id,) = (await generate_renewals()).invoice_ids
        await dunning.record_failure(invoice_id, reason="declined", policy=settings.billing, actor="test")
    gives_up_at = end + timedelta(days=settings.billing.dunning_retry_days[-1])
    with clock.frozen_at(gives_up_at - timedelta(seconds=1)):
        assert (await log_in(client, email="reader@example.com")).status_code == 303  # days later: a new session
        page = await client.get("/catalog/the-guide")
        assert readable(page)  # past_due, still paid through: cached again
        link = media_url(page)
    with clock.frozen_at(gives_up_at):
        for _ in settings.billing.dunning_retry_days:
            await dunning.record_failure(invoice_id, reason="declined", policy=settings.billing, actor="test")
        assert (await Subscription.select(Subscription.status).first()) == {"status": Status.unpaid}
        assert await _undispatched("subscription.retries_exhausted") == 1
        assert (await client.get(link)).status_code == 403
        assert not readable(await client.get("/catalog/the-guide"))


async def test_a_downgrade_at_the_period_end_counts_from_the_billing_run_s_commit(client: httpx.AsyncClient) -> None:
    customer_id, plan_id, slug = await _setup(client)
    lower = await plan_with(code="lower", name="Lower")
    start = clock.now()
    end = start + timedelta(hours=1)
    await factories.subscription(
        customer=customer_id, plan=plan_id, pending_plan=lower, current_period_start=start, current_period_end=end,
        billing_anchor=start,
    )  # fmt: skip
    with clock.frozen_at(end + timedelta(seconds=1)):
        assert readable(await client.get(f"/catalog/{slug}"))  # still Basic until the run renews it
        assert (await generate_renewals()).renewed == 1  # on Lower, written in bulk: no on-commit handler
        assert not readable(await client.get(f"/catalog/{slug}"))


async def test_a_plan_losing_a_feature_in_the_admin_retires_every_cached_entitlement(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    customer_id, plan_id, slug = await _setup(client)
    await factories.subscription(customer=customer_id, plan=plan_id)
    assert readable(await client.get(f"/catalog/{slug}"))  # entitlements and the page are cached now
    grant = await PlanFeature.select(PlanFeature.id).where(PlanFeature.plan == plan_id).first()
    assert grant is not None
    async with staff_session(app, "billing") as staff:
        removed = await staff.delete(table("plan_feature", grant["id"]))
        assert removed.status_code == 204, removed.text
    assert not readable(await client.get(f"/catalog/{slug}"))


async def test_free_items_need_no_subscription_and_featureless_items_need_any(client: httpx.AsyncClient) -> None:
    free = await item(slug="free-one", is_free=True)
    members = await item(slug="members-only")
    assert readable(await client.get(f"/catalog/{free.slug}"))  # anonymous
    locked = await client.get(f"/catalog/{members.slug}")
    assert not readable(locked) and "Log in" in locked.text
    customer_id = await customer_logged_in(client)
    await factories.subscription(customer=customer_id, plan=await plan_with())
    assert readable(await client.get(f"/catalog/{members.slug}"))


async def test_unknown_slugs_and_unpublished_items_are_404(client: httpx.AsyncClient) -> None:
    await item(slug="a-draft", publish_state="draft")
    assert (await client.get("/catalog/no-such-item")).status_code == 404
    assert (await client.get("/catalog/a-draft")).status_code == 404


async def test_a_customer_on_a_test_clock_is_entitled_at_the_clock_s_time(client: httpx.AsyncClient) -> None:
    t0 = clock.now() - timedelta(days=40)  # the clock is far behind real time
    test_clock = await factories.test_clock(frozen_time=t0)
    customer_id = await create_test_customer(test_clock.id, email="tess@example.com", name="Tess", password=PASSWORD)
    assert (await log_in(client, "tess@example.com")).status_code == 303  # a test customer logs in as anyone
    library = await factories.feature(key="library")
    plan_id = await plan_with(library.id, code="basic", name="Basic")
    slug = str((await item((library.id,), slug="deep-dive", title="Deep dive")).slug)
    sub = await factories.subscription(customer=customer_id, plan=plan_id, billing_anchor=t0, cancel_at_period_end=True)
    end = clock.as_utc(sub.current_period_end)  # a month after t0
    assert readable(await client.get(f"/catalog/{slug}"))  # in real time that period ended days ago
    await TestClock.update({TestClock.frozen_time: end}).where(TestClock.id == test_clock.id)
    assert not readable(await client.get(f"/catalog/{slug}"))  # staff moved the clock: no stale cache
