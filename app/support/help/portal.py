"""The help centre in the portal (public, no log-in): /help, categories, search, articles with "Was this
helpful?", staff previews, and /contact.

Help pages are cached whole (app.pages shells, in the ``help`` PageCache) per audience (logged in or not: the
header and the contact links differ) and retired by any help edit; a hit runs no SQL and no template. Votes are
posted (CSRF-protected) with htmx, or as a plain form that comes back to the article with a message.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Controller, Response, get, post
from litestar.datastructures import Cookie
from litestar.params import FromPath, FromQuery
from litestar.plugins.flash import flash
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template

from app import pages
from app.accounts.auth import client_ip, session_customer_id
from app.accounts.staff import ADMIN_SESSION_COOKIE, staff_from_admin_session
from app.admin_permissions import Action, allowed
from app.content.cache import CachedPage, PageCache
from app.content.markdown import render_markdown
from app.content.runtime import ContentRuntime
from app.errors import InvalidInput, RateLimited
from app.support.help import service
from app.web import AnyRequest, Form, see_other
from tables.support import KnowledgeBaseArticle

VISITOR_COOKIE = "recurra_help_visitor"
VISITOR_COOKIE_AGE_S = 365 * 24 * 3600
VOTES_PER_ADDRESS = (60, 600)  # votes per client address per 10 minutes
ANSWERS = {"yes": True, "no": False}


def _cache(request: AnyRequest) -> PageCache:
    runtime: ContentRuntime = request.app.state.content
    return runtime.help


def _audience(request: AnyRequest) -> str:
    return "customer" if session_customer_id(request) is not None else "anon"


Context = Callable[[], Awaitable[dict[str, Any]]]


async def _cached(request: AnyRequest, kind: str, params: Any, template: str, context: Context) -> Response[str]:
    """The page ``template`` for this audience, from the cache, or rendered with ``context()`` and cached.
    A domain error raised by ``context`` (a 404) is not cached."""

    async def build() -> CachedPage:
        return CachedPage(pages.render_shell(request, template, **await context()))

    page = await _cache(request).get_or_build(kind, _audience(request), params, build)
    return pages.serve_shell(request, page.html)


class HelpPortal(Controller):
    include_in_schema = False

    @get("/help", name="help")
    async def home(self, request: AnyRequest) -> Response[str]:
        async def context() -> dict[str, Any]:
            return {"sections": await service.sections()}

        return await _cached(request, "home", None, "help/home.html", context)

    @get("/help/search", name="help_search")
    async def search(self, request: AnyRequest, q: FromQuery[str] = "") -> Response[str] | Redirect:
        """Results for the words of ``q`` (the page shows the words it searched for); no words: /help."""
        terms = service.parse_query(q)
        if not terms:
            return see_other("/help")

        async def context() -> dict[str, Any]:
            return {"result": await service.find(terms)}

        return await _cached(request, "search", terms, "help/search.html", context)

    @get("/help/category/{slug:str}", name="help_category")
    async def category(self, request: AnyRequest, slug: FromPath[str]) -> Response[str]:
        async def context() -> dict[str, Any]:
            return {"section": await service.category(slug)}

        return await _cached(request, "category", slug, "help/category.html", context)

    @get("/help/preview/{slug:str}", name="help_preview")
    async def preview(self, request: AnyRequest, slug: FromPath[str]) -> Template:
        """Any article as readers will see it, for staff signed in to the admin who may edit help articles;
        everyone else gets the 404 a reader gets for a draft. Never cached, here or by the browser."""
        staff = await staff_from_admin_session(request.cookies.get(ADMIN_SESSION_COOKIE))
        if staff is None or not allowed(staff.role, KnowledgeBaseArticle, Action.update):
            raise service.ArticleNotFound(f"There is no help article called {slug!r}.")
        article = await service.article_for_preview(slug)
        return Template(
            "help/article.html",
            context={
                "article": article, "body_html": render_markdown(article.body), "related": [], "preview": True,
            },
            headers={"Cache-Control": "no-store", "X-Robots-Tag": "noindex"},
        )  # fmt: skip

    @get("/help/{slug:str}", name="help_article")
    async def article(self, request: AnyRequest, slug: FromPath[str]) -> Response[str]:
        async def context() -> dict[str, Any]:
            article = await service.article(slug)
            return {
                "article": article, "body_html": render_markdown(article.body),
                "related": await service.related(article), "preview": False,
            }  # fmt: skip

        return await _cached(request, "article", slug, "help/article.html", context)

    @post("/help/{slug:str}/vote", name="help_vote")
    async def vote(self, request: HTMXRequest, slug: FromPath[str], data: Form) -> Template | Redirect:
        """ "Was this helpful?": with htmx the answer replaces the question; without, back to the article."""
        answer = ANSWERS.get(data.get("helpful", ""))
        if answer is None:
            raise InvalidInput("Answer yes or no.", code="help_vote_invalid")
        decision = await request.app.state.rate_limiter.hit(f"help-vote:{client_ip(request)}", *VOTES_PER_ADDRESS)
        if not decision.allowed:
            raise RateLimited(
                "Too many answers from your address. Try again later.",
                headers={"Retry-After": str(decision.retry_after_s)},
            )
        visitor, cookie = _visitor(request)
        await service.vote(slug, visitor, answer)
        cookies = [cookie] if cookie else []
        if request.htmx:
            return Template("help/_vote.html", context={"slug": slug, "answer": answer}, cookies=cookies)
        flash(request, "Thank you for your answer.", category="success")
        return see_other(f"/help/{slug}#was-it-helpful", cookies=cookies)

    @get("/contact", name="contact")
    async def contact(self, request: AnyRequest) -> Template:
        return Template("help/contact.html", context={"logged_in": session_customer_id(request) is not None})


def _visitor(request: AnyRequest) -> tuple[service.Visitor, Cookie | None]:
    """The logged-in customer, or the anonymous visitor of the cookie (a new one gets a random id and the cookie)."""
    customer_id = session_customer_id(request)
    if customer_id is not None:
        return service.Visitor.customer(customer_id), None
    with contextlib.suppress(ValueError):  # no cookie, or not one of ours
        return service.Visitor.anonymous(request.cookies.get(VISITOR_COOKIE, "")), None
    fresh = secrets.token_urlsafe(18)
    cookie = Cookie(
        key=VISITOR_COOKIE, value=fresh, max_age=VISITOR_COOKIE_AGE_S, path="/help", httponly=True, samesite="lax",
        secure=request.app.state.settings.https,
    )  # fmt: skip
    return service.Visitor.anonymous(fresh), cookie
