"""Domain errors and the one place that maps them (and every other failure) to HTTP.

Services raise ``DomainError`` subclasses with a stable ``code``. Under /api/ (and for clients that ask for
JSON) the answer is RFC 9457 problem+json; portal pages get a friendly HTML page with the same status.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.response import Redirect, Template
from litestar.types import ExceptionHandlersMap

from app.logs import current_request_id

log = logging.getLogger("recurra.errors")

PROBLEM_JSON = "application/problem+json"
JSON_PATH_PREFIXES = ("/api/", "/health/", "/webhooks/", "/schema/")


class DomainError(Exception):
    """A refusal a service makes on purpose. Subclasses fix ``status`` and ``code``."""

    status: int = HTTPStatus.BAD_REQUEST
    code: str = "bad_request"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.extra = extra or {}
        self.headers = headers or {}  # e.g. WWW-Authenticate on 401, Retry-After on 429


class NotFound(DomainError):
    status = HTTPStatus.NOT_FOUND
    code = "not_found"


class Conflict(DomainError):
    status = HTTPStatus.CONFLICT
    code = "conflict"


class InvalidInput(DomainError):
    status = HTTPStatus.UNPROCESSABLE_ENTITY
    code = "invalid_input"


class NotAuthenticated(DomainError):
    status = HTTPStatus.UNAUTHORIZED
    code = "not_authenticated"


class PermissionDenied(DomainError):
    status = HTTPStatus.FORBIDDEN
    code = "permission_denied"


class RateLimited(DomainError):
    status = HTTPStatus.TOO_MANY_REQUESTS
    code = "rate_limited"


def _wants_json(request: Request[Any, Any, Any]) -> bool:
    if request.url.path.startswith(JSON_PATH_PREFIXES):
        return True
    accept = request.headers.get("accept", "")
    return "json" in accept and "text/html" not in accept


def problem_response(
    request: Request[Any, Any, Any],
    status: int,
    code: str,
    detail: str,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": f"urn:recurra:problem:{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": request.url.path,
        "request_id": current_request_id(),
    }
    if extra:
        body.update(extra)
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _page(request: Request[Any, Any, Any], status: int, detail: str) -> Response[Any]:
    template = "errors/404.html" if status == HTTPStatus.NOT_FOUND else "errors/error.html"
    return Template(
        template_name=template,
        context={"status": status, "title": HTTPStatus(status).phrase, "detail": detail},
        status_code=status,
        media_type=MediaType.HTML,
    )


def _render(
    request: Request[Any, Any, Any],
    status: int,
    code: str,
    detail: str,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    if _wants_json(request):
        return problem_response(request, status, code, detail, extra, headers)
    response = _page(request, status, detail)
    if headers:
        response.headers.update(headers)
    return response


def _http_code(status: int) -> str:
    return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")


def handle_domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    if isinstance(exc, NotAuthenticated) and not _wants_json(request):
        # A portal page that needs a log-in sends the person to log in, then back here.
        target = "/login?" + urlencode(
            {"next": request.url.path + (f"?{request.url.query}" if request.url.query else "")}
        )
        if request.headers.get("hx-request"):
            return Response(content=None, status_code=200, headers={"HX-Redirect": target})
        return Redirect(target, status_code=303)
    return _render(request, exc.status, exc.code, exc.detail, exc.extra, exc.headers)


def handle_validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    errors = exc.extra if isinstance(exc.extra, list) else []
    return _render(
        request,
        HTTPStatus.BAD_REQUEST,
        "validation_failed",
        "The request is not valid: see errors.",
        {"errors": errors},
    )


def handle_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    detail = exc.detail if exc.detail and exc.detail != HTTPStatus(status).phrase else ""
    if status == HTTPStatus.NOT_FOUND:
        detail = detail or "There is nothing at this address."
    headers = dict(exc.headers or {})
    return _render(request, status, _http_code(status), detail or HTTPStatus(status).description, None, headers)


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return _render(
        request,
        HTTPStatus.INTERNAL_SERVER_ERROR,
        "internal_error",
        "Something went wrong on our side. It has been logged; please try again.",
    )


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    DomainError: handle_domain_error,
    ValidationException: handle_validation_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
