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
from tables.support import HelpCategory, KnowledgeBaseArticle

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

# The help centre (/help). Bodies are Markdown; **bold** is reserved for what the portal shows (a button, a link,
# a menu entry, a heading), "…" standing for what varies (a price, a plan, a date). A test checks that every link
# an article has opens and that every bold label appears on the portal's pages.
# slug, name, description
HELP_CATEGORIES = [
    ("getting-started", "Getting started", "Subscribing with PayPal and free trials."),
    ("subscriptions", "Your subscription", "Changing plan, pausing and cancelling."),
    ("billing", "Billing and payments", "Renewals, invoices, receipts and your PayPal account."),
    ("account", "Account and security", "Log-in, passwords and two-factor authentication."),
    ("contact", "Contact", "When you need a person."),
]

# slug, title, category, summary, body
KB_ARTICLES: list[tuple[str, str, str, str, str]] = [
    (
        "subscribe-with-paypal",
        "Subscribing with PayPal",
        "getting-started",
        "Choose a plan, approve the payment on PayPal and start reading at once.",
        """You pay for every plan with PayPal.

1. On [the plans page](/) choose a plan with **Choose …**. If you are not logged in yet,
   [log in](/login) or [create an account](/register) first.
2. Confirm your e-mail address: paying needs it, because receipts and payment problems must reach you. The link
   is in the e-mail we sent when you signed up; the subscribe page offers to send it again.
3. Press **Pay … with PayPal** and approve the payment on PayPal's page.
4. PayPal sends you back to [your subscriptions](/account/subscriptions), where the plan shows as **active**.

Your PayPal account is saved for the renewals, so you do not approve each one. If you cancel on PayPal's page,
nothing is charged; **Pay now with PayPal** on [your subscriptions](/account/subscriptions) tries again.
A receipt reaches you by e-mail after every payment.
""",
    ),
    (
        "free-trials",
        "Free trials",
        "getting-started",
        "Plans with a free trial charge nothing until the trial ends.",
        """Plans with a trial say so on [the plans page](/), for example "7-day free trial".

Press **Start the free trial with PayPal** on the plan's page and approve on PayPal: this saves your PayPal
account without taking money. Your trial starts at once, and [your subscriptions](/account/subscriptions) shows
it as **free trial** with its end date.

A few days before the trial ends we e-mail you. When it ends, the plan's price is charged to the saved PayPal
account and the subscription goes on.

Not for you? **Cancel** it on [your subscriptions](/account/subscriptions) before the trial ends and choose
**At the end of this period**: you keep access until the trial's end and are never charged.
""",
    ),
    (
        "change-plan",
        "Changing your plan",
        "subscriptions",
        "Upgrades start at once and are charged for the rest of the period; downgrades wait for the renewal.",
        """On [your subscriptions](/account/subscriptions), pick the new plan under **Change to** and press
**See what it costs**. Before anything happens you see what you pay now, your next bill and when the change
takes effect.

- A bigger plan starts as soon as it is paid: you pay the new plan for the rest of the current period, minus
  what is left of the old one, charged to your saved PayPal account with **Pay … and switch**. If that payment
  fails, you stay on your current plan.
- Monthly to yearly, or back: paid at once in the same way; your billing date moves to the day of the change.
- A smaller plan costs nothing now: **Switch on …** schedules it for the end of the period you paid for. Until
  then, **Keep …** on [your subscriptions](/account/subscriptions) undoes it.
""",
    ),
    (
        "cancel-subscription",
        "Cancelling or pausing",
        "subscriptions",
        "Cancel at the end of the period (and change your mind until then) or at once; or pause for a while.",
        """## Cancelling

On [your subscriptions](/account/subscriptions) press **Cancel**, then choose:

- **At the end of this period**: you keep access until the period you paid for ends and are not billed again.
  Until then, **Keep my subscription** undoes the cancellation.
- **Now**: access ends at once; the rest of the period is not refunded.

Tell us why you are leaving and press **Cancel my subscription**. We confirm the cancellation by e-mail.

## Pausing

An active subscription can be paused instead: **Pause**, then **Pause now**. While paused you have
no access and get no bills. **Resume** starts it again: the time that was left in your period continues from that
day, and your next bill moves by as long as you were away.
""",
    ),
    (
        "how-billing-works",
        "How billing works",
        "billing",
        "You pay at the start of each period; we remind you before a renewal and tell you if a payment fails.",
        """Each period is paid at its start, charged to the PayPal account saved on [Billing](/account/billing).
[Your subscriptions](/account/subscriptions) shows your **Next bill**: the amount and the date.

- About a week before a renewal we e-mail you what it will charge.
- After every payment you get a receipt by e-mail; all of them are under [Invoices](/account/invoices).
- Upgrades are charged at once for the rest of the period; downgrades start at the next renewal (see
  [Changing your plan](/help/change-plan)).

## If a renewal payment fails

The subscription shows **payment overdue** and we e-mail you. We try the
payment again over the following days. You can pay at once on [Billing](/account/billing): under **To pay**,
press **Pay now with …**, or **Pay with another PayPal account**. Paying the overdue invoice restores your
subscription.
""",
    ),
    (
        "download-invoices",
        "Invoices and receipts",
        "billing",
        "Every invoice and receipt is in your account, as a page and as a PDF.",
        """Open [Invoices](/account/invoices): every invoice is listed with its date, total and status, and its
**PDF**. Open an invoice for its lines and payments, and **Download PDF**: an unpaid invoice downloads as an
invoice, a paid one as a receipt.

Below the invoices, **Payment history** lists every payment, refund and credit note. A refund comes with a
credit note, which corrects the invoice it refunds.
""",
    ),
    (
        "change-payment-method",
        "Changing the PayPal account you pay with",
        "billing",
        "Save another PayPal account; it pays your renewals from then on.",
        """Open [Billing](/account/billing) and press **Use another PayPal account**. Approve on PayPal's page; back
on Billing, the new account is shown as the one that **pays your subscriptions**, and every renewal is charged to
it from now on.

To pay an open invoice with a different account just once, use **Pay with another PayPal account** next to it.
""",
    ),
    (
        "two-factor",
        "Protecting your account with two-factor authentication",
        "account",
        "Log-ins ask for a code from an authenticator app on your phone.",
        """1. Open [Security](/account/security) and press **Set up two-factor authentication**.
2. Scan the code with an authenticator app (Aegis, Google Authenticator, 1Password…) or type the key shown
   under it.
3. Type the 6-digit code the app shows into **Code from the app** and press **Turn on**.
4. Keep the ten recovery codes somewhere safe: each one logs you in once if you lose your phone. We show them
   only once.

From then on, log-ins ask for a code from the app (or a recovery code). To switch it off, open the same
[Security](/account/security) page and confirm with your password.
""",
    ),
    (
        "reset-password",
        "Resetting a forgotten password",
        "account",
        "Get a link by e-mail and choose a new password.",
        """On [Log in](/login) choose **Forgot your password?**, type the e-mail address of your account and press
**Send the link**. The e-mail's link works once, for an hour: it opens **Choose a new password**, where you
type the new one (at least 12 characters) and **Save the new password**.

No e-mail? Check the spam folder, and that you typed the address you signed up with. Logged in already? Change
your password on [Security](/account/security) instead: that logs out your other devices.
""",
    ),
    (
        "contact-support",
        "Contacting support",
        "contact",
        "Write to us by e-mail, or open a support request in your account.",
        """Search [the help centre](/help) first: most answers are there.

Still stuck? [Contact us](/contact) shows our e-mail address; write from the address of your account and tell
us what you tried and what happened. Logged in, you can open a support request there too and follow our answers
in your account. Every e-mail we send you ends with the same links.
""",
    ),
]

# The first demo's help articles: a demo database seeded before keeps them unless they are replaced here, and one
# named a button the portal never had. Replaced only where their text is still exactly this (staff edits stay).
FIRST_DEMO_BODIES = {
    "how-billing-works": "You are billed at the start of each period. Upgrades are charged at once for the rest of the period; downgrades start at the next renewal.",
    "change-payment-method": "Open Account → Billing and choose 'Change payment method'. You will approve the new method on PayPal.",
    "cancel-subscription": "You can cancel at any time. Access continues until the end of the period you paid for, and you can resume until then.",
    "download-invoices": "Every invoice and receipt can be downloaded as a PDF from Account → Invoices.",
    "two-factor": "Turn on two-factor authentication under Account → Security with any authenticator app.",
}  # fmt: skip


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
    categories = {
        slug: await _get_or_insert(
            HelpCategory,
            HelpCategory.slug == slug,
            HelpCategory(name=name, slug=slug, description=description, sort_order=order),
        )
        for order, (slug, name, description) in enumerate(HELP_CATEGORIES)
    }
    for slug, title, category, summary, body in KB_ARTICLES:
        if slug in FIRST_DEMO_BODIES:
            await KnowledgeBaseArticle.update(
                {KnowledgeBaseArticle.title: title, KnowledgeBaseArticle.summary: summary,
                 KnowledgeBaseArticle.body: body, KnowledgeBaseArticle.updated_at: now}
            ).where(KnowledgeBaseArticle.slug == slug, KnowledgeBaseArticle.body == FIRST_DEMO_BODIES[slug])  # fmt: skip
        await _get_or_insert(
            KnowledgeBaseArticle,
            KnowledgeBaseArticle.slug == slug,
            KnowledgeBaseArticle(
                title=title, slug=slug, category=categories[category], summary=summary, body=body,
                publish_state=KnowledgeBaseArticle.PublishState.published, published_at=now, created_at=now,
                updated_at=now,
            ),
        )  # fmt: skip
    await seed_demo_replies()
    password = _staff_password(settings)
    if not await BaseUser.exists().where(BaseUser.username == DEMO_STAFF_USERNAME):
        await create_staff(DEMO_STAFF_USERNAME, "admin@recurra.localhost", password)
    return StaffLogin(DEMO_STAFF_USERNAME, password)
