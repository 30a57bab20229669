"""The content catalog: what is published, who may read it, and what changed.

Reads are plain functions the portal (and later the partner API) call; the access rule is ``can_read`` over
an item's features and the reader's ``Entitlements`` (app.subscriptions.access). Writes that change what
customers see (staff edits, scheduled publishing) record a ``ContentChange`` and return, so the caller bumps
the catalog cache version after the commit.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from app import clock
from app.content import publishing
from app.content.search import CatalogFilter, as_datetime, find
from app.content.storage import COVER_TYPES
from app.errors import NotFound
from app.slugs import SlugRule
from app.subscriptions.access import Entitlements
from tables.accounts import Customer
from tables.catalog import Plan, PlanFeature, Product
from tables.content import ContentChange, ContentItem, ContentItemFeature, ContentItemTag, ContentReader, Tag

Kind = ContentItem.Kind
PublishState = ContentItem.PublishState
Change = ContentChange.Change
# Pages of their own under /catalog/ (app.content.portal): an item with one of these slugs could not be opened.
RESERVED_SLUGS = frozenset({"news", "digest"})
ITEM_SLUGS = SlugRule("/catalog", "the library", RESERVED_SLUGS)
VISIT_GAP = timedelta(hours=1)  # a catalog view this long after the previous one starts a new visit
MEDIA_KINDS = (Kind.video, Kind.audio, Kind.file)


class ItemNotFound(NotFound):
    code = "content_not_found"


@dataclass(frozen=True, slots=True)
class TagView:
    slug: str
    name: str


@dataclass(frozen=True, slots=True)
class PlanOffer:
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class ItemCard:
    id: int
    slug: str
    title: str
    summary: str
    kind: str
    is_free: bool
    product_name: str
    updated_at: datetime | None
    features: frozenset[str]
    tags: tuple[TagView, ...] = ()
    cover_version: str = ""  # empty: no cover to show; else its URL's ?v= (changes with the cover)


@dataclass(frozen=True, slots=True)
class ItemDetail:
    card: ItemCard
    body: str
    external_url: str
    media_key: str
    media_content_type: str
    media_size: int
    published_at: datetime | None

    @property
    def has_media(self) -> bool:
        return self.card.kind in MEDIA_KINDS and bool(self.media_key)

    @property
    def filename(self) -> str:
        """The name a download gets: the item's slug with the stored file's extension."""
        extension = self.media_key.rsplit(".", 1)[-1] if "." in self.media_key else "bin"
        return f"{self.card.slug}.{extension}"


@dataclass(frozen=True, slots=True)
class CatalogPage:
    items: list[ItemCard]
    total: int
    page: int
    pages: int


@dataclass(frozen=True, slots=True)
class Facets:
    products: list[tuple[str, str]]  # (slug, name)
    kinds: list[str]
    tags: list[TagView]


@dataclass(frozen=True, slots=True)
class Offers:
    """The cheapest public plan granting each feature, and the cheapest public plan of all."""

    by_feature: dict[str, PlanOffer] = field(default_factory=dict)
    cheapest: PlanOffer | None = None

    def for_item(self, item: ItemCard) -> PlanOffer | None:
        if not item.features:
            return self.cheapest
        offers = [self.by_feature[f] for f in sorted(item.features) if f in self.by_feature]
        return offers[0] if offers else None


def can_read(item: ItemCard, entitlements: Entitlements | None) -> bool:
    """Free items: anyone. Items naming features: a subscription granting one of them. Others: any subscription."""
    if item.is_free:
        return True
    if entitlements is None or not entitlements.subscribed:
        return False
    return not item.features or bool(item.features & entitlements.features)


def parse_filter(q: str = "", product: str = "", kind: str = "", tag: str = "") -> CatalogFilter:
    return CatalogFilter(
        q=q.strip()[:200],
        product=product.strip()[:100],
        kind=kind if kind in {k.value for k in Kind} else "",
        tag=tag.strip()[:100],
    )


async def _cards(ids: list[int]) -> list[ItemCard]:
    """Cards for ``ids`` in that order: three queries, however many items."""
    if not ids:
        return []
    rows = await ContentItem.select(
        ContentItem.id,
        ContentItem.slug,
        ContentItem.title,
        ContentItem.summary,
        ContentItem.kind,
        ContentItem.is_free,
        ContentItem.updated_at,
        ContentItem.cover_image,
        ContentItem.product.name.as_alias("product_name"),
    ).where(ContentItem.id.is_in(ids))
    features: dict[int, set[str]] = defaultdict(set)
    for row in await ContentItemFeature.select(
        ContentItemFeature.item, ContentItemFeature.feature.key.as_alias("key")
    ).where(ContentItemFeature.item.is_in(ids)):
        features[row["item"]].add(row["key"])
    tags: dict[int, list[TagView]] = defaultdict(list)
    for row in (
        await ContentItemTag.select(
            ContentItemTag.item, ContentItemTag.tag.slug.as_alias("slug"), ContentItemTag.tag.name.as_alias("name")
        )
        .where(ContentItemTag.item.is_in(ids))
        .order_by(ContentItemTag.tag.name)
    ):
        tags[row["item"]].append(TagView(row["slug"], row["name"]))
    by_id = {
        r["id"]: ItemCard(
            id=r["id"],
            slug=r["slug"],
            title=r["title"],
            summary=r["summary"],
            kind=r["kind"],
            is_free=r["is_free"],
            product_name=r["product_name"] or "",
            updated_at=as_datetime(r["updated_at"]),
            features=frozenset(features[r["id"]]),
            tags=tuple(tags[r["id"]]),
            cover_version=cover_version(r["cover_image"]),
        )
        for r in rows
    }
    return [by_id[i] for i in ids if i in by_id]


def cover_version(key: str) -> str:
    """A short token naming this cover (a new upload is a new key, so browsers fetch it anew); empty when there is
    no cover a page may show: none, or not a raster image."""
    if not key or mimetypes.guess_type(key)[0] not in COVER_TYPES:
        return ""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class Cover:
    key: str
    filename: str


async def get_cover(item_id: int) -> Cover:
    """A published item's cover image, or ItemNotFound (unpublished, none, or not one a page may show)."""
    row = (
        await ContentItem.select(ContentItem.slug, ContentItem.cover_image)
        .where(ContentItem.id == item_id, ContentItem.publish_state == PublishState.published)
        .first()
    )
    if row is None or not cover_version(row["cover_image"]):
        raise ItemNotFound(f"Item #{item_id} has no cover.")
    extension = row["cover_image"].rsplit(".", 1)[-1].lower()
    return Cover(row["cover_image"], f"{row['slug']}-cover.{extension}")


async def list_catalog(flt: CatalogFilter, page: int, page_size: int) -> CatalogPage:
    """One page of published items matching ``flt``: ranked by search relevance, else newest first."""
    page = max(1, page)
    matches, total = await find(flt, offset=(page - 1) * page_size, limit=page_size)
    pages = max(1, -(-total // page_size))
    return CatalogPage(await _cards([m.id for m in matches]), total, page, pages)


async def get_item(slug: str) -> ItemDetail:
    """A published item by slug, or ItemNotFound (drafts, scheduled and archived items do not exist to readers)."""
    return await _published(ContentItem.slug == slug, f"There is no item called {slug!r} in the catalog.")


async def get_item_by_id(item_id: int) -> ItemDetail:
    return await _published(ContentItem.id == item_id, f"There is no item #{item_id} in the catalog.")


async def _published(where: Any, missing: str) -> ItemDetail:
    row = (
        await ContentItem.select(
            ContentItem.id,
            ContentItem.body,
            ContentItem.external_url,
            ContentItem.media_key,
            ContentItem.media_content_type,
            ContentItem.media_size,
            ContentItem.published_at,
        )
        .where(where, ContentItem.publish_state == PublishState.published)
        .first()
    )
    if row is None:
        raise ItemNotFound(missing)
    return await _detail(row)


async def _detail(row: dict[str, Any]) -> ItemDetail:
    (card,) = await _cards([row["id"]])
    return ItemDetail(
        card=card,
        body=row["body"],
        external_url=row["external_url"],
        media_key=row["media_key"],
        media_content_type=row["media_content_type"],
        media_size=row["media_size"],
        published_at=as_datetime(row["published_at"]),
    )


async def facets() -> Facets:
    """What the filters offer: active products, the kinds, and tags in use."""
    products = await Product.select(Product.slug, Product.name).where(Product.active.eq(True)).order_by(Product.name)
    tags = await Tag.select(Tag.slug, Tag.name).order_by(Tag.name)
    return Facets(
        products=[(p["slug"], p["name"]) for p in products],
        kinds=[k.value for k in Kind],
        tags=[TagView(t["slug"], t["name"]) for t in tags],
    )


async def plan_offers() -> Offers:
    """Which plan to point a locked item's reader to: public active plans, cheapest first."""
    plans = (
        await Plan.select(Plan.id, Plan.code, Plan.name)
        .where(Plan.public.eq(True), Plan.status == Plan.Status.active)
        .order_by(Plan.amount_minor)
        .order_by(Plan.sort_order)
    )
    if not plans:
        return Offers()
    offer = {p["id"]: PlanOffer(p["code"], p["name"]) for p in plans}
    rank = {p["id"]: n for n, p in enumerate(plans)}
    grants = await PlanFeature.select(PlanFeature.plan, PlanFeature.feature.key.as_alias("key")).where(
        PlanFeature.plan.is_in(list(offer))
    )
    by_feature: dict[str, PlanOffer] = {}
    for row in sorted(grants, key=lambda r: rank[r["plan"]]):
        by_feature.setdefault(row["key"], offer[row["plan"]])
    return Offers(by_feature, offer[plans[0]["id"]])


# --- what changed --------------------------------------------------------------------------------------


async def record_change(item_id: int, change: Change, summary: str = "", at: datetime | None = None) -> None:
    await ContentChange.insert(
        ContentChange(item=item_id, change=change, summary=summary[:500], changed_at=at or clock.now())
    )


async def after_staff_edit(item_id: int, changed: set[str], media_size: int | None = None) -> bool:
    """A staff member created or changed item ``item_id`` (the ``changed`` columns): stamp it, fill publication
    dates and record what changed. Returns whether customers can see a difference (so caches must go)."""
    title = await ContentItem.select(ContentItem.title).where(ContentItem.id == item_id).first()
    now = clock.now()
    extra = {ContentItem.media_size: media_size} if media_size is not None else None
    state = await publishing.stamp_edit(ContentItem, item_id, now, extra)
    if state is None or title is None:
        return False
    if "publish_state" in changed and state in (PublishState.published, PublishState.archived):
        change = Change.published if state == PublishState.published else Change.archived
        await record_change(item_id, change, title["title"], now)
        return True
    if state == PublishState.published:
        await record_change(item_id, Change.updated, f"{title['title']}: {', '.join(sorted(changed))}", now)
        return True
    return "publish_state" in changed


async def publish_due(at: datetime | None = None) -> list[int]:
    """Publish every scheduled item whose ``publish_at`` has come, recording each. Idempotent."""
    at = at or clock.now()

    async def record(row: dict[str, Any]) -> None:
        await record_change(row["id"], Change.published, row["title"], at)

    return [row["id"] for row in await publishing.publish_due(ContentItem, at, record)]


# --- readers: visits and the weekly digest -----------------------------------------------------------------


async def note_visit(customer_id: int, at: datetime | None = None) -> datetime | None:
    """Record a catalog visit; returns the instant "new since your last visit" counts from (None: first visit)."""
    at = at or clock.now()
    row = await ContentReader.select().where(ContentReader.customer == customer_id).first()
    if row is None:
        await ContentReader.insert(ContentReader(customer=customer_id, last_visit_at=at, previous_visit_at=None))
        return None
    last = as_datetime(row["last_visit_at"])
    since = as_datetime(row["previous_visit_at"])
    if last is None or at - last >= VISIT_GAP:
        since = last  # a new visit: news counts from the end of the one before
    await ContentReader.update({ContentReader.last_visit_at: at, ContentReader.previous_visit_at: since}).where(
        ContentReader.id == row["id"]
    )
    return since


@dataclass(frozen=True, slots=True)
class News:
    item: ItemCard
    change: str
    changed_at: datetime


async def changes_since(since: datetime, limit: int = 10) -> list[News]:
    """Published items new or updated after ``since``, latest change per item, newest first."""
    rows = (
        await ContentChange.select(ContentChange.item, ContentChange.change, ContentChange.changed_at)
        .where(
            ContentChange.changed_at > since,
            ContentChange.change != Change.archived,
            ContentChange.item._.publish_state == PublishState.published,
        )
        .order_by(ContentChange.changed_at, ascending=False)
        .limit(limit * 5)
    )
    latest: dict[int, dict[str, Any]] = {}
    for row in rows:
        latest.setdefault(row["item"], row)
    picked = list(latest.values())[:limit]
    cards = {c.id: c for c in await _cards([r["item"] for r in picked])}
    return [News(cards[r["item"]], r["change"], clock.as_utc(r["changed_at"])) for r in picked if r["item"] in cards]


async def digest_opted_in(customer_id: int) -> bool:
    row = await ContentReader.select(ContentReader.digest_opt_in).where(ContentReader.customer == customer_id).first()
    return bool(row and row["digest_opt_in"])


async def set_digest(customer_id: int, enabled: bool) -> None:
    updated = (
        await ContentReader.update({ContentReader.digest_opt_in: enabled})
        .where(ContentReader.customer == customer_id)
        .returning(ContentReader.id)
    )
    if not updated:
        await ContentReader.insert(ContentReader(customer=customer_id, digest_opt_in=enabled))


@dataclass(frozen=True, slots=True)
class Digest:
    customer_id: int
    email: str
    name: str
    news: list[News]


DIGEST_EVERY = timedelta(days=7)


async def due_digests(at: datetime | None = None) -> list[Digest]:
    """Opted-in customers not sent a digest in the last week, with what changed since their last one (or a week)."""
    at = at or clock.now()
    readers = await ContentReader.select(
        ContentReader.customer,
        ContentReader.digest_sent_at,
        ContentReader.customer.email.as_alias("email"),
        ContentReader.customer.name.as_alias("name"),
    ).where(ContentReader.digest_opt_in.eq(True), ContentReader.customer._.status == Customer.Status.active)
    digests = []
    for reader in readers:
        sent = as_datetime(reader["digest_sent_at"])
        if sent is not None and at - sent < DIGEST_EVERY:
            continue
        news = await changes_since(sent or at - DIGEST_EVERY, limit=20)
        digests.append(Digest(reader["customer"], reader["email"], reader["name"], news))
    return digests


async def mark_digest_sent(customer_id: int, at: datetime) -> None:
    await ContentReader.update({ContentReader.digest_sent_at: at}).where(ContentReader.customer == customer_id)
