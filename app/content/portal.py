"""The catalog in the portal: browse and search, item pages, signed media links, "new since your last visit".

The catalog and item pages' main parts come from PageCache per entitlement set; a hit runs no SQL (the
session and the entitlements come from their stores too). What is personal (the signed media link, the news
since the last visit) is rendered around the cached part, never into it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar import Controller, HttpMethod, MediaType, Response, get, post, route
from litestar.params import FromPath, FromQuery
from litestar.plugins.flash import flash
from litestar.response import Redirect, Stream, Template

from app import clock, pages
from app.accounts.auth import session_customer_id
from app.content import delivery, service
from app.content.cache import CachedPage
from app.content.markdown import render_markdown
from app.content.runtime import ContentRuntime
from app.content.search import CatalogFilter
from app.content.storage import MediaNotFound
from app.errors import NotAuthenticated
from app.subscriptions.access import Entitlements
from app.web import AnyRequest, Form, see_other

ANONYMOUS = "anon"
MEDIA_SLOT = pages.slot("media")  # an item page's signed link: per customer and per minute, so never cached


def _runtime(request: AnyRequest) -> ContentRuntime:
    runtime: ContentRuntime = request.app.state.content
    return runtime


async def _viewer(request: AnyRequest, *, fresh: bool = False) -> Entitlements | None:
    customer_id = session_customer_id(request)
    if customer_id is None:
        return None
    return await _runtime(request).entitlements.get(customer_id, fresh=fresh)


def _audience(viewer: Entitlements | None) -> str:
    return ANONYMOUS if viewer is None else viewer.key


def _bodiless(status: int, headers: dict[str, str] | None = None) -> Response[None]:
    """A status and headers only (HEAD, 304, 416): ``content-length`` stays what the GET would send."""
    return Response(content=None, status_code=status, headers=headers, media_type=MediaType.TEXT)


def _unsatisfiable(error: delivery.RangeNotSatisfiable) -> Response[None]:
    return _bodiless(416, {"content-range": f"bytes */{error.size}"})


def _sent(plan: delivery.Delivery, *, probe: bool = False) -> Response[Any]:
    """The planned answer: its body streamed, unless it has none or the request is a HEAD (``probe``)."""
    if plan.body is None or probe:
        return _bodiless(plan.status, plan.headers)
    return Stream(content=plan.body, status_code=plan.status, headers=plan.headers)


def _link(request: AnyRequest, item_id: int, customer_id: int | None) -> str:
    settings = _runtime(request).settings
    ttl = timedelta(seconds=settings.content.media_url_ttl_s)
    return delivery.media_link(settings.secret_key, item_id, customer_id or delivery.ANONYMOUS, clock.now(), ttl)


class CatalogPortal(Controller):
    include_in_schema = False

    @get("/catalog", name="catalog")
    async def catalog(
        self,
        request: AnyRequest,
        q: FromQuery[str] = "",
        product: FromQuery[str] = "",
        kind: FromQuery[str] = "",
        tag: FromQuery[str] = "",
        page: FromQuery[int] = 1,
    ) -> Response[str]:
        flt = service.parse_filter(q, product, kind, tag)
        page = min(max(1, page), 10_000)
        viewer = await _viewer(request)
        runtime = _runtime(request)

        async def build() -> CachedPage:
            main = pages.fragment(await self._catalog_html(request, flt, page, viewer))
            shell = pages.render_shell(request, "content/catalog.html", main=main, logged_in=viewer is not None)
            return CachedPage(shell)

        params = [flt.q, flt.product, flt.kind, flt.tag, page]
        cached = await runtime.catalog.get_or_build("catalog", _audience(viewer), params, build)
        return pages.serve_shell(request, cached.html)

    async def _catalog_html(
        self, request: AnyRequest, flt: CatalogFilter, page: int, viewer: Entitlements | None
    ) -> str:
        size = _runtime(request).settings.content.page_size
        result = await service.list_catalog(flt, page, size)
        offers = await service.plan_offers()
        rows = [(card, service.can_read(card, viewer), offers.for_item(card)) for card in result.items]
        return pages.render(
            request,
            "content/_catalog_main.html",
            flt=flt,
            result=result,
            rows=rows,
            facets=await service.facets(),
            logged_in=viewer is not None,
        )

    @get("/catalog/news", name="catalog_news")
    async def news(self, request: AnyRequest) -> Template:
        """Personal, so never cached: new and updated items since the customer's last visit, and the digest switch."""
        customer_id = session_customer_id(request)
        if customer_id is None:
            return Template("content/_news.html", context={"logged_in": False})
        since = await service.note_visit(customer_id)
        news = await service.changes_since(since) if since is not None else []
        return Template(
            "content/_news.html",
            context={
                "logged_in": True,
                "since": since,
                "news": news,
                "digest": await service.digest_opted_in(customer_id),
            },
        )

    @post("/catalog/digest", name="catalog_digest")
    async def digest(self, request: AnyRequest, data: Form) -> Redirect:
        customer_id = session_customer_id(request)
        if customer_id is None:
            raise NotAuthenticated("Log in to continue.")
        enabled = data.get("enabled") == "1"
        await service.set_digest(customer_id, enabled)
        message = "You'll get a weekly e-mail of new content." if enabled else "No more weekly e-mails."
        flash(request, message, category="success")
        return see_other("/catalog")

    @get("/catalog/{slug:str}", name="catalog_item")
    async def item(self, request: AnyRequest, slug: FromPath[str]) -> Response[str]:
        viewer = await _viewer(request)
        page = await self._item_page(request, slug, viewer)
        if not page.meta["readable"] and viewer is not None:
            # The cached entitlements may predate a payment that just succeeded: a refusal asks the database.
            viewer = await _viewer(request, fresh=True)
            page = await self._item_page(request, slug, viewer)
        slots = {}
        if page.meta["readable"] and page.meta["has_media"]:
            slots[MEDIA_SLOT] = _link(request, page.meta["item_id"], session_customer_id(request))
        return pages.serve_shell(request, page.html, slots)

    async def _item_page(self, request: AnyRequest, slug: str, viewer: Entitlements | None) -> CachedPage:
        async def build() -> CachedPage:
            item = await service.get_item(slug)  # ItemNotFound (404) is not cached
            readable = service.can_read(item.card, viewer)
            offer = (await service.plan_offers()).for_item(item.card)
            body_html = render_markdown(item.body) if readable and item.body else None
            main = pages.render(
                request, "content/_item.html", item=item, readable=readable, offer=offer, body_html=body_html,
                logged_in=viewer is not None,
            )  # fmt: skip
            media = readable and item.has_media
            shell = pages.render_shell(
                request, "content/item.html", main=pages.fragment(main), title=item.card.title, kind=item.card.kind,
                media_url=MEDIA_SLOT if media else None,
            )  # fmt: skip
            meta = {"item_id": item.card.id, "readable": readable, "has_media": item.has_media}
            return CachedPage(shell, meta)

        return await _runtime(request).catalog.get_or_build("item", _audience(viewer), slug, build)

    @route("/media/{item_id:int}", http_method=[HttpMethod.GET, HttpMethod.HEAD], name="media")
    async def media(
        self,
        request: AnyRequest,
        item_id: FromPath[int],
        c: FromQuery[str] = "",
        e: FromQuery[str] = "",
        s: FromQuery[str] = "",
    ) -> Response[Any]:
        """The file behind a signed link. HEAD (players and download managers ask for the size first) gets the
        GET's status and headers after the same checks, without a body; a refusal without the page."""
        probe = request.method == HttpMethod.HEAD
        try:
            plan = await self._media_plan(request, item_id, c, e, s)
        except delivery.RangeNotSatisfiable as error:
            return _unsatisfiable(error)
        except service.ItemNotFound:
            if not probe:
                raise
            return _bodiless(404)
        if isinstance(plan, str):
            return _bodiless(403) if probe else await self._refused(request, item_id, plan)
        return _sent(plan, probe=probe)

    # Shared caches keep covers: no session or CSRF cookie may ride on them (the middlewares' opt-out keys).
    @get("/covers/{item_id:int}", name="cover", opt={"skip_session": True, "exclude_from_csrf": True})
    async def cover(self, request: AnyRequest, item_id: FromPath[int]) -> Response[Any]:
        """A published item's cover image from the covers storage: not secret, so publicly cacheable, with the
        file's validators (``?v=`` in the pages' URLs changes with the cover; its value is not needed here)."""
        cover = await service.get_cover(item_id)
        try:
            plan = await delivery.plan_delivery(
                _runtime(request).covers, cover.key, cover.filename, request.headers, cache_control=delivery.PUBLIC
            )
        except MediaNotFound:
            raise service.ItemNotFound(f"The cover of item #{item_id} is missing.") from None
        except delivery.RangeNotSatisfiable as error:
            return _unsatisfiable(error)
        return _sent(plan)

    async def _media_plan(self, request: AnyRequest, item_id: int, c: str, e: str, s: str) -> delivery.Delivery | str:
        """How to answer for the file behind a signed link, or the reason it is refused: the signature, the expiry,
        then the customer's entitlement now. ItemNotFound and RangeNotSatisfiable are left to the caller."""
        runtime = _runtime(request)
        status = delivery.check_link(runtime.settings.secret_key, item_id, c, e, s, clock.now())
        if status != delivery.LinkStatus.valid:
            return status.value
        item = await service.get_item_by_id(item_id)
        if not item.has_media:
            raise service.ItemNotFound(f"Item #{item_id} has no file.")
        customer_id = int(c)
        viewer = None
        if customer_id != delivery.ANONYMOUS:
            viewer = await runtime.entitlements.get(customer_id)
            if not service.can_read(item.card, viewer):
                viewer = await runtime.entitlements.get(customer_id, fresh=True)
        if not service.can_read(item.card, viewer):
            return "not_entitled"
        try:
            return await delivery.plan_delivery(
                runtime.storage, item.media_key, item.filename, request.headers,
                content_type=item.media_content_type, x_accel_prefix=runtime.settings.content.x_accel_redirect,
            )  # fmt: skip
        except MediaNotFound:
            raise service.ItemNotFound(f"The file of item #{item_id} is missing.") from None

    async def _refused(self, request: AnyRequest, item_id: int, reason: str) -> Response[Any]:
        """403 with a page that offers a fresh link when the logged-in customer may still open the item."""
        fresh_link, item = None, None
        customer_id = session_customer_id(request)
        try:
            item = await service.get_item_by_id(item_id)
        except service.ItemNotFound:
            item = None
        offer = None
        if item is not None:
            viewer = await _viewer(request, fresh=True)
            if service.can_read(item.card, viewer) and item.has_media:
                fresh_link = _link(request, item_id, customer_id)
            else:
                offer = (await service.plan_offers()).for_item(item.card)
        return Template(
            "content/link_refused.html",
            context={"reason": reason, "item": item, "fresh_link": fresh_link, "offer": offer},
            status_code=403,
        )
