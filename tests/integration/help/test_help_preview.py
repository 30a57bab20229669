"""Staff who may edit help articles preview any article (a draft, a scheduled one) with the real template, signed
in to the admin (piccolo-admin's session); for everyone else a preview is the 404 a draft is."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
from litestar import Litestar
from piccolo.apps.user.tables import BaseUser
from piccolo_api.session_auth.tables import SessionsBase

from app import clock
from tests.integration.content.helpers import customer_logged_in
from tests.integration.help.helpers import article, category
from tests.integration.staff import staff_session


async def test_support_staff_preview_a_draft_with_the_real_template(app: Litestar, client: httpx.AsyncClient) -> None:
    billing = await category(name="Billing", slug="billing")
    await article(title="Coming soon", slug="soon", category=billing.id, body="**Bold** <em>raw</em>",
                  publish_state="scheduled", publish_at=clock.now() + timedelta(days=2))  # fmt: skip
    async with staff_session(app, "support") as staff:
        page = await staff.get("/help/preview/soon")
        assert page.status_code == 200
        assert page.headers["cache-control"] == "no-store" and page.headers["x-robots-tag"] == "noindex"
        assert 'id="preview"' in page.text and "customers cannot see this article yet" in page.text
        assert "<h1>Coming soon</h1>" in page.text and "<strong>Bold</strong> &lt;em&gt;raw&lt;/em&gt;" in page.text
        assert 'href="/help/category/billing">Billing</a>' in page.text  # the reader's page, breadcrumbs and all
        assert 'id="was-it-helpful"' not in page.text  # nothing to vote on yet
        assert (await staff.get("/help/soon")).status_code == 404  # the public page still is not there
        assert (await staff.get("/help/preview/never-written")).status_code == 404


async def test_nobody_else_sees_a_preview(app: Litestar, client: httpx.AsyncClient) -> None:
    await article(slug="secret", title="Secret plans", publish_state="draft")
    assert (await client.get("/help/preview/secret")).status_code == 404  # anonymous
    await customer_logged_in(client)
    assert (await client.get("/help/preview/secret")).status_code == 404  # a customer
    client.cookies.set("id", "forged-session-token")
    assert (await client.get("/help/preview/secret")).status_code == 404
    async with staff_session(app, "billing") as billing:  # staff whose role does not edit help articles
        refused = await billing.get("/help/preview/secret")
        assert refused.status_code == 404 and "Secret plans" not in refused.text
    async with staff_session(app, "support", username="leaver") as leaver:
        assert (await leaver.get("/help/preview/secret")).status_code == 200
        await BaseUser.update({BaseUser.active: False}).where(BaseUser.username == "leaver")
        assert (await leaver.get("/help/preview/secret")).status_code == 404  # deactivated: at once
    async with staff_session(app, "support", username="expired") as expired:
        user = await BaseUser.objects().get(BaseUser.username == "expired")
        assert user is not None
        # piccolo_api keeps naive local times from the system's own clock (not app.clock, which a run may move):
        # a date long past is expired for it whatever day the run plays.
        long_ago = datetime(2000, 1, 1)  # noqa: DTZ001 - piccolo_api compares naive times
        await SessionsBase.update({SessionsBase.expiry_date: long_ago}).where(SessionsBase.user_id == user.id)
        assert (await expired.get("/help/preview/secret")).status_code == 404
