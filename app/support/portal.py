"""The customer's support pages: /support (my requests), /support/new (with help articles suggested while the
subject is typed), a request's page (the thread, reply, "this is solved", the rating once solved) and its files,
and the rating page the satisfaction e-mail links to (/support/rate/<signed token>, no log-in needed).

Every page is the logged-in owner's only: another customer's request answers 404, as one that does not exist.
Files are served to the owner and to support staff (signed in at /admin/), always as downloads.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import Provide
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.plugins.flash import flash
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Stream, Template

from app.accounts.auth import CurrentCustomer, provide_customer
from app.content.delivery import content_disposition
from app.content.storage import MediaNotFound
from app.errors import DomainError, NotFound
from app.settings import MAX_SUPPORT_ATTACHMENT_MB
from app.support import csat, deflection, service, views
from app.support.access import STAFF_SESSION_COOKIE, support_staff
from app.support.articles import help_search, published_article
from app.support.attachments import ALLOWED_TYPES, MAX_ATTACHMENTS, Upload
from app.support.errors import AttachmentNotFound, TicketFormError
from app.support.service import SupportDesk
from app.web import AnyRequest, Form, app_settings, see_other

MultipartForm = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]
# The largest request a form with files may send: every file at the largest size settings allow, and the text.
MAX_FORM_BYTES = MAX_ATTACHMENTS * MAX_SUPPORT_ATTACHMENT_MB * 1024 * 1024 + 1024 * 1024
SUGGESTIONS = 5


def _desk(request: AnyRequest) -> SupportDesk:
    desk: SupportDesk = request.app.state.support
    return desk


async def _uploads(data: dict[str, Any]) -> list[Upload]:
    """The files of a multipart form (one file arrives alone, several as a list; an empty file input as a
    nameless empty part)."""
    value = data.get("attachments")
    files = value if isinstance(value, list) else [value] if value is not None else []
    uploads = []
    for file in files:
        if isinstance(file, UploadFile):
            content = await file.read()
            if content or file.filename:
                uploads.append(Upload(filename=file.filename or "", data=content))
    return uploads


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name, "")
    return value if isinstance(value, str) else ""


def _form_context(draft: str, values: dict[str, str] | None = None, error: DomainError | None = None) -> dict[str, Any]:
    return {
        "categories": views.CATEGORIES,
        "draft": draft,
        "values": values or {},
        "errors": error.fields if isinstance(error, TicketFormError) else {},
        "form_error": error.detail if error is not None and not isinstance(error, TicketFormError) else "",
        "max_attachments": MAX_ATTACHMENTS,
        "accept": ",".join(sorted(ALLOWED_TYPES)),
    }


def _ticket_context(
    view: views.TicketView, rating: csat.RatingView | None, body: str = "", error: DomainError | None = None
) -> dict[str, Any]:
    return {
        "ticket": view,
        "rating": rating if rating is not None and rating.current else None,
        "rateable": view.status in csat.RATEABLE,
        "scores": csat.SCORES,
        "values": {"body": body} if error else {},
        "errors": error.fields if isinstance(error, TicketFormError) else {},
        "form_error": error.detail if error is not None and not isinstance(error, TicketFormError) else "",
        "accept": ",".join(sorted(ALLOWED_TYPES)),
    }


class SupportPortal(Controller):
    path = "/support"
    include_in_schema = False
    dependencies = {"customer": Provide(provide_customer)}

    @get("/", name="support")
    async def my_requests(self, customer: CurrentCustomer) -> Template:
        tickets = await views.list_tickets(customer.id)
        return Template("support/list.html", context={"tickets": tickets})

    @get("/new", name="support:new")
    async def new_form(self, customer: CurrentCustomer, subject: FromQuery[str] = "") -> Template:
        context = _form_context(secrets.token_urlsafe(16), {"subject": subject[: service.MAX_SUBJECT]})
        return Template("support/new.html", context=context)

    @post("/new", request_max_body_size=MAX_FORM_BYTES)
    async def create(self, request: AnyRequest, customer: CurrentCustomer, data: MultipartForm) -> Template | Redirect:
        values = {name: _text(data, name) for name in ("subject", "category", "body")}
        draft = _text(data, "draft")
        try:
            ticket_id = await service.open_ticket(
                _desk(request), customer, subject=values["subject"], category=values["category"],
                body=values["body"], uploads=await _uploads(data), draft=draft,
            )  # fmt: skip
        except DomainError as error:
            return Template("support/new.html", context=_form_context(draft, values, error), status_code=error.status,
                            headers=error.headers)  # fmt: skip
        flash(request, "Thank you: we have your request and will answer by e-mail and here.", category="success")
        return see_other(f"/support/{ticket_id}")

    @get("/suggestions", name="support:suggestions")
    async def suggestions(
        self, customer: CurrentCustomer, subject: FromQuery[str] = "", draft: FromQuery[str] = ""
    ) -> Template:
        hits = await help_search(subject[: service.MAX_SUBJECT], SUGGESTIONS)
        return Template("support/_suggestions.html", context={"hits": hits, "draft": draft})

    @get("/suggestions/{article_id:int}", name="support:suggested-article")
    async def suggested_article(
        self, request: HTMXRequest, customer: CurrentCustomer, article_id: FromPath[int], draft: FromQuery[str] = ""
    ) -> Template:
        article = await published_article(article_id)
        if article is None:
            raise NotFound("There is no such article.", code="article_not_found")
        await deflection.record_opened(customer.id, draft, article_id)
        template = "support/_article.html" if request.htmx else "support/article.html"
        return Template(template, context={"article": article, "body_html": article.body_html})

    @get("/{ticket_id:int}", name="support:ticket")
    async def ticket(self, customer: CurrentCustomer, ticket_id: FromPath[int]) -> Template:
        view = await views.ticket_for_customer(customer.id, ticket_id)
        return Template("support/ticket.html", context=_ticket_context(view, await csat.latest_rating(ticket_id)))

    @post("/{ticket_id:int}/reply", request_max_body_size=MAX_FORM_BYTES)
    async def reply(
        self, request: HTMXRequest, customer: CurrentCustomer, ticket_id: FromPath[int], data: MultipartForm
    ) -> Template | Redirect:
        body = _text(data, "body")
        error: DomainError | None = None
        try:
            await service.customer_reply(_desk(request), customer.id, ticket_id, body, await _uploads(data))
        except DomainError as refused:
            if refused.status == 404:
                raise
            error = refused
        view = await views.ticket_for_customer(customer.id, ticket_id)
        context = _ticket_context(view, await csat.latest_rating(ticket_id), body, error)
        if request.htmx:  # htmx swaps only 2xx answers: the refusal is inline in the swapped part
            return Template("support/_conversation.html", context=context)
        if error is None:
            return see_other(f"/support/{ticket_id}#latest")
        return Template("support/ticket.html", context=context, status_code=error.status)

    @post("/{ticket_id:int}/solve")
    async def solve(self, request: AnyRequest, customer: CurrentCustomer, ticket_id: FromPath[int]) -> Redirect:
        try:
            await service.solve_by_customer(customer.id, ticket_id)
        except DomainError as error:
            if error.status == 404:
                raise
            flash(request, error.detail, category="error")
        else:
            flash(request, "Glad it is sorted. If anything comes up again, just reply: the request reopens.",
                  category="success")  # fmt: skip
        return see_other(f"/support/{ticket_id}")

    @post("/{ticket_id:int}/rating")
    async def rate(
        self, request: AnyRequest, customer: CurrentCustomer, ticket_id: FromPath[int], data: Form
    ) -> Redirect:
        """The owner rates the solved request (again: the latest rating counts)."""
        await views.owned_ticket(customer.id, ticket_id)
        try:
            await csat.rate_latest_solve(ticket_id, data.get("score", ""), data.get("comment", ""),
                                         customer_id=customer.id)  # fmt: skip
        except TicketFormError as refused:
            flash(request, " ".join(refused.fields.values()), category="error")
        else:
            flash(request, "Thank you for your rating.", category="success")
        return see_other(f"/support/{ticket_id}#rating")


class RatingPortal(Controller):
    """The page the satisfaction e-mail links to: the signed link is the key, no log-in needed. Opening it
    records nothing (mail scanners open links); pressing Send does."""

    path = "/support/rate"
    include_in_schema = False

    async def _rating(self, request: AnyRequest, token: str) -> csat.RatingView:
        rating_id = csat.rating_of_token(app_settings(request).secret_key, token)
        if rating_id is None:
            raise csat.RatingNotFound("This link is not valid. Your request's page has the rating too.")
        return await csat.rating(rating_id)

    def _page(self, rating: csat.RatingView, chosen: str, comment: str, **extra: Any) -> Template:
        context = {"rating": rating, "scores": csat.SCORES, "chosen": chosen, "comment": comment, "errors": {},
                   "saved": False, **extra}  # fmt: skip
        return Template("support/rate.html", context=context, status_code=422 if context["errors"] else 200)

    @get("/{token:str}", name="support:rate")
    async def form(self, request: AnyRequest, token: FromPath[str], score: FromQuery[str] = "") -> Template:
        rating = await self._rating(request, token)
        chosen = score if score.isdigit() and int(score) in csat.SCORES else str(rating.score or "")
        return self._page(rating, chosen, rating.comment)

    @post("/{token:str}")
    async def send(self, request: AnyRequest, token: FromPath[str], data: Form) -> Template:
        rating = await self._rating(request, token)
        score, comment = data.get("score", ""), data.get("comment", "")
        try:
            rating = await csat.rate(rating.id, score, comment, customer_id=None)
        except TicketFormError as refused:
            return self._page(rating, score, comment, errors=refused.fields)
        return self._page(rating, str(rating.score), rating.comment, saved=True)


@get("/support/files/{attachment_id:int}", name="support:file", include_in_schema=False)
async def support_file(request: AnyRequest, attachment_id: FromPath[int]) -> Response[Any]:
    """A ticket's file, for its owner or support staff only; always a download, never rendered by the browser."""
    info = getattr(request.state, "customer_session", None)
    try:
        file = await views.attachment_file(attachment_id, customer_id=info.customer_id if info else None)
    except AttachmentNotFound:
        if await support_staff(request.cookies.get(STAFF_SESSION_COOKIE)) is None:
            raise
        file = await views.attachment_file(attachment_id, customer_id=None, staff=True)
    storage = _desk(request).store.storage
    try:
        stored = await storage.stat(file.storage_key)
    except MediaNotFound:
        raise AttachmentNotFound("The file is missing.") from None
    return Stream(
        content=storage.read(file.storage_key, 0, stored.size),
        headers={
            "content-type": file.content_type,
            "content-length": str(stored.size),
            "content-disposition": content_disposition(file.filename, file.content_type, download=True),
            "x-content-type-options": "nosniff",
            "cache-control": "private, no-store",
        },
    )
