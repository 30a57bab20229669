"""The demo's help articles are true to the product: every link an article has opens (200, or a 303 the portal
means), and every label an article names in bold (a button, a link, a menu entry, a heading, "…" standing for a
price, a plan or a date) is on one of the portal's pages, as a customer with subscriptions in every state sees
them, or as a visitor logged out sees the log-in and password pages."""

from __future__ import annotations

import html
import re

import httpx
from litestar import Litestar

from app.billing import service as invoices
from app.billing.lines import subscription_line
from app.billing.periods import Interval, Period, first_period
from app.demo import FIRST_DEMO_BODIES, KB_ARTICLES, seed_demo
from app.settings import Settings
from app.subscriptions.service import plan_terms
from tables.catalog import Plan
from tables.subscriptions import Subscription
from tables.support import KnowledgeBaseArticle
from tests import factories
from tests.portal import csrf_token, link_in, sign_up, submit
from tests.smtp import Mailbox

LINK = re.compile(r"\]\((/[^)\s]*)\)")
LABEL = re.compile(r"\*\*(.+?)\*\*", re.S)
TAG = re.compile(r"<[^>]+>")


def visible_text(page: httpx.Response) -> str:
    """The page as a reader sees it: tags gone, entities decoded, whitespace collapsed."""
    body = page.text.split("<body", 1)[-1]
    return " ".join(html.unescape(TAG.sub(" ", body)).split())


def label_pattern(label: str) -> re.Pattern[str]:
    return re.compile(r"\s*.+?\s*".join(re.escape(" ".join(part.split())) for part in label.split("…")))


async def _customer_in_every_state(client: httpx.AsyncClient) -> dict[str, int]:
    """A logged-in customer with a saved PayPal account and subscriptions: active, on a trial set to end,
    overdue (with a scheduled downgrade and an open invoice), awaiting its first payment, and paused."""
    customer = await sign_up(client, "demo-reader@example.com")
    plans = {row["code"]: row["id"] for row in await Plan.select(Plan.code, Plan.id)}
    method = await factories.payment_method("vault-demo", customer=customer.id)
    period = first_period(customer.created_at, Interval("month"))
    common = {"customer": customer.id, "current_period_start": period.start, "current_period_end": period.end,
              "billing_anchor": period.start, "payment_method": method.id}  # fmt: skip
    active = await factories.subscription(plan=plans["plus-monthly"], **common)
    await factories.subscription(plan=plans["basic-monthly"], status=Subscription.Status.trialing,
                                 trial_end=period.end, cancel_at_period_end=True, **common)  # fmt: skip
    overdue = await factories.subscription(plan=plans["pro-monthly"], status=Subscription.Status.past_due,
                                           pending_plan=plans["plus-monthly"], **common)  # fmt: skip
    await factories.subscription(plan=plans["pro-yearly"], status=Subscription.Status.incomplete, **common)
    await factories.subscription(plan=plans["plus-yearly"], status=Subscription.Status.paused,
                                 paused_at=period.start, **common)  # fmt: skip
    line = subscription_line(await plan_terms(plans["pro-monthly"]), Period(period.start, period.end))
    draft = await invoices.create_draft(customer.id, "USD", [line], subscription_id=overdue.id)
    await invoices.finalize(draft, actor="test")
    return {"active": active.id, "invoice": draft}


async def _portal_pages(client: httpx.AsyncClient, visitor: httpx.AsyncClient, mailbox: Mailbox) -> list[str]:
    ids = await _customer_in_every_state(client)
    sub = f"/account/subscriptions/{ids['active']}"
    paths = ["/", "/subscribe/plus-monthly", "/subscribe/basic-monthly", "/account/subscriptions",
             f"{sub}/cancel", f"{sub}/pause", f"{sub}/change?plan=pro-monthly", f"{sub}/change?plan=basic-monthly",
             "/account/billing", "/account/invoices", f"/account/invoices/{ids['invoice']}", "/account/security",
             "/contact", "/help"]  # fmt: skip
    pages = []
    for path in paths:
        page = await client.get(path)
        assert page.status_code == 200, (path, page.status_code)
        pages.append(visible_text(page))
    setup = await submit(client, "/account/security", "/account/2fa/setup")
    assert setup.status_code == 200, setup.text
    pages.append(visible_text(setup))
    for path in ("/login", "/password-reset"):
        pages.append(visible_text(await visitor.get(path)))
    sent = await submit(visitor, "/password-reset", "/password-reset", {"email": "demo-reader@example.com"})
    assert sent.status_code in (200, 303)
    reset = await visitor.get(link_in((await mailbox.wait_for("reset_password"))[-1], "/password-reset/confirm"))
    assert reset.status_code == 200 and csrf_token(reset.text)
    pages.append(visible_text(reset))
    return pages


async def test_every_link_and_label_of_the_demo_articles_exists(
    app: Litestar, client: httpx.AsyncClient, new_client: httpx.AsyncClient, mailbox: Mailbox, settings: Settings
) -> None:
    await seed_demo(settings)
    articles = await KnowledgeBaseArticle.select(KnowledgeBaseArticle.slug, KnowledgeBaseArticle.body)
    assert len(articles) >= 10
    pages = await _portal_pages(client, new_client, mailbox)
    missing = []
    for row in articles:
        for path in sorted(set(LINK.findall(row["body"]))):
            opened = await client.get(path)
            if opened.status_code not in (200, 303):
                missing.append((row["slug"], path, opened.status_code))
        for label in LABEL.findall(row["body"]):
            if not any(label_pattern(label).search(page) for page in pages):
                missing.append((row["slug"], label, "no page shows it"))
    assert missing == []
    for row in articles:  # and each is public, on /help and in its own page
        assert f'href="/help/{row["slug"]}"' in (await client.get("/help")).text
        assert (await client.get(f"/help/{row['slug']}")).status_code == 200


async def test_a_demo_seeded_before_gets_the_new_articles_unless_staff_edited_them(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    old = {slug: body for slug, body in FIRST_DEMO_BODIES.items() if slug in ("change-payment-method", "two-factor")}
    for slug, body in old.items():
        edited = body + (" Edited by staff." if slug == "two-factor" else "")
        await KnowledgeBaseArticle.insert(KnowledgeBaseArticle(slug=slug, title=slug, body=edited))
    await seed_demo(settings)
    await seed_demo(settings)  # idempotent
    rows = {
        r["slug"]: r["body"]
        for r in await KnowledgeBaseArticle.select(KnowledgeBaseArticle.slug, KnowledgeBaseArticle.body)
    }
    assert "**Use another PayPal account**" in rows["change-payment-method"]
    assert rows["two-factor"].endswith("Edited by staff.")
    assert len(rows) == len(KB_ARTICLES)
