"""Demo data for `make run`: a catalog, plans, content and help articles, and a staff login. Idempotent:
rows are found by their natural keys and only missing ones are inserted, so staff edits survive a re-run."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from piccolo.apps.user.tables import BaseUser
from piccolo.table import Table

from app import clock
from app.accounts.staff import create_staff
from app.content.demo_media import demo_files
from app.content.storage import files_storage
from app.settings import Settings
from app.support.canned import seed_demo_replies
from tables.catalog import Feature, Plan, PlanFeature, Product
from tables.content import ContentItem, ContentItemFeature, ContentItemTag, Tag
from tables.support import KnowledgeBaseArticle

DEMO_STAFF_USERNAME = "admin"

FEATURES = [
    ("library", "Full article library", "Every article and guide in the library."),
    ("hd_video", "HD video", "Courses and talks in full HD."),
    ("downloads", "Downloads", "Templates, e-books and audio to keep."),
    ("early_access", "Early access", "New releases a week before everyone else."),
]

# code, name, monthly minor units, interval, trial days, features {key: limit}
PLANS: list[tuple[str, str, int, str, int, dict[str, int | None]]] = [
    ("basic-monthly", "Basic", 900, "month", 7, {"library": None}),
    ("basic-yearly", "Basic (yearly)", 9000, "year", 7, {"library": None}),
    ("plus-monthly", "Plus", 1900, "month", 0, {"library": None, "hd_video": None}),
    ("plus-yearly", "Plus (yearly)", 19000, "year", 0, {"library": None, "hd_video": None}),
    ("pro-monthly", "Pro", 2900, "month", 0, {"library": None, "hd_video": None, "downloads": 50, "early_access": None}),
    ("pro-yearly", "Pro (yearly)", 29000, "year", 0, {"library": None, "hd_video": None, "downloads": 600, "early_access": None}),
]  # fmt: skip

# slug, title, kind, features, free, tags, summary
CONTENT: list[tuple[str, str, str, list[str], bool, list[str], str]] = [
    ("welcome", "Welcome to the library", "article", [], True, ["start"], "How the library works and where to begin."),
    ("pricing-psychology", "The psychology of pricing pages", "article", ["library"], False, ["pricing", "growth"], "Why three plans beat two, and anchoring in practice."),
    ("churn-playbook", "A practical churn playbook", "article", ["library"], False, ["retention"], "Dunning, win-back and the cancellation flow, step by step."),
    ("metrics-101", "Subscription metrics 101", "article", ["library"], False, ["metrics"], "MRR, ARR, churn and LTV without the jargon."),
    ("onboarding-video", "Onboarding that sticks (video)", "video", ["hd_video"], False, ["retention", "video"], "A 40-minute workshop on first-week activation."),
    ("pricing-workshop", "Pricing workshop (video)", "video", ["hd_video"], False, ["pricing", "video"], "Run a pricing experiment from hypothesis to rollout."),
    ("founder-interviews", "Founder interviews (audio)", "audio", ["library"], False, ["audio", "growth"], "Twelve founders on their first hundred subscribers."),
    ("churn-template", "Churn survey template", "file", ["downloads"], False, ["retention", "templates"], "A ready-to-send exit survey (PDF)."),
    ("metrics-sheet", "Metrics spreadsheet", "file", ["downloads"], False, ["metrics", "templates"], "The spreadsheet behind Metrics 101."),
    ("ebook-recurring", "E-book: Recurring revenue", "file", ["downloads"], False, ["growth"], "180 pages on building a subscription business."),
    ("reading-list", "Reading list", "link", [], True, ["start"], "Books and essays we recommend."),
    ("roadmap-preview", "Roadmap preview", "article", ["early_access"], False, ["news"], "What is coming next quarter, before anyone else sees it."),
    ("sample-episode", "Sample episode (audio)", "audio", [], True, ["audio", "start"], "A free sample: play it and seek in it, no account needed."),
]  # fmt: skip

KB_ARTICLES = [
    ("how-billing-works", "How billing works", "Billing", "You are billed at the start of each period. Upgrades are charged at once for the rest of the period; downgrades start at the next renewal."),
    ("change-payment-method", "Changing your payment method", "Billing", "Open Account → Billing and choose 'Change payment method'. You will approve the new method on PayPal."),
    ("cancel-subscription", "Cancelling or pausing", "Subscriptions", "You can cancel at any time. Access continues until the end of the period you paid for, and you can resume until then."),
    ("download-invoices", "Downloading invoices and receipts", "Billing", "Every invoice and receipt can be downloaded as a PDF from Account → Invoices."),
    ("two-factor", "Protecting your account with two-factor authentication", "Account", "Turn on two-factor authentication under Account → Security with any authenticator app."),
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class StaffLogin:
    username: str
    password: str


async def _get_or_insert(table: type[Table], where: Any, row: Table) -> int:
    existing = await table.select(table._meta.primary_key).where(where).first()
    if existing:
        return int(existing["id"])
    inserted = await table.insert(row).returning(table._meta.primary_key)
    return int(inserted[0]["id"])


def _staff_password(settings: Settings) -> str:
    """The demo staff password: generated once and kept under var/ (never committed), so `make run` can
    print it every time."""
    path = settings.var_dir / "demo-staff-password"
    if path.exists():
        return path.read_text().strip()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(12)
    path.touch(mode=0o600)
    path.write_text(password)
    return password


async def _seed_media(settings: Settings) -> None:
    """Generated files for the demo's audio and download items (only where an item has no file yet)."""
    storage = files_storage(settings.content)
    for slug, (key, content_type, data) in demo_files().items():
        if await ContentItem.exists().where(ContentItem.slug == slug, ContentItem.media_key == ""):
            stored = await storage.write(key, data)
            await ContentItem.update(
                {
                    ContentItem.media_key: key,
                    ContentItem.media_content_type: content_type,
                    ContentItem.media_size: stored.size,
                }
            ).where(ContentItem.slug == slug)


async def seed_demo(settings: Settings) -> StaffLogin:
    now = clock.now()
    features = {
        key: await _get_or_insert(Feature, Feature.key == key, Feature(key=key, name=name, description=description))
        for key, name, description in FEATURES
    }
    product = await _get_or_insert(
        Product,
        Product.slug == "library",
        Product(
            name="Recurra Library",
            slug="library",
            description="Articles, courses and downloads on running a subscription business.",
        ),
    )
    for order, (code, name, amount, interval, trial, granted) in enumerate(PLANS):
        plan_id = await _get_or_insert(
            Plan,
            Plan.code == code,
            Plan(
                product=product,
                code=code,
                name=name,
                amount_minor=amount,
                currency="USD",
                interval=interval,
                interval_count=1,
                trial_days=trial,
                public=True,
                sort_order=order,
                created_at=now,
            ),
        )
        for key, limit in granted.items():
            await _get_or_insert(
                PlanFeature,
                (PlanFeature.plan == plan_id) & (PlanFeature.feature == features[key]),
                PlanFeature(plan=plan_id, feature=features[key], limit_value=limit),
            )
    for age, (slug, title, kind, needs, free, tags, summary) in enumerate(CONTENT):
        stamp = now - timedelta(days=age * 3)
        item_id = await _get_or_insert(
            ContentItem,
            ContentItem.slug == slug,
            ContentItem(
                product=product,
                kind=kind,
                title=title,
                slug=slug,
                summary=summary,
                body=f"# {title}\n\n{summary}\n",
                is_free=free,
                external_url="https://example.org/reading-list" if kind == "link" else "",
                publish_state=ContentItem.PublishState.published,
                published_at=stamp,
                created_at=stamp,
                updated_at=stamp,
            ),
        )
        for key in needs:
            await _get_or_insert(
                ContentItemFeature,
                (ContentItemFeature.item == item_id) & (ContentItemFeature.feature == features[key]),
                ContentItemFeature(item=item_id, feature=features[key]),
            )
        for tag in tags:
            tag_id = await _get_or_insert(Tag, Tag.slug == tag, Tag(name=tag.capitalize(), slug=tag))
            await _get_or_insert(
                ContentItemTag,
                (ContentItemTag.item == item_id) & (ContentItemTag.tag == tag_id),
                ContentItemTag(item=item_id, tag=tag_id),
            )
    await _seed_media(settings)
    for slug, title, category, body in KB_ARTICLES:
        await _get_or_insert(
            KnowledgeBaseArticle,
            KnowledgeBaseArticle.slug == slug,
            KnowledgeBaseArticle(title=title, slug=slug, category=category, body=body, created_at=now, updated_at=now),
        )
    await seed_demo_replies()
    password = _staff_password(settings)
    if not await BaseUser.exists().where(BaseUser.username == DEMO_STAFF_USERNAME):
        await create_staff(DEMO_STAFF_USERNAME, "admin@recurra.localhost", password)
    return StaffLogin(DEMO_STAFF_USERNAME, password)
