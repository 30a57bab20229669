"""Whole portal pages served from a cache: rendered once per audience, filled in per request.

A shell is a complete page rendered with a marker (a "slot") wherever a value belongs to one visitor: the CSRF
token, the flash messages, a signed link. Serving it replaces the markers, so a cached page runs no template and
no SQL. Everything else a shell shows must be the same for every visitor of its audience (logged in or not is
part of the audience key). The markers carry a random part drawn at start-up, so no text a page quotes (an item
title, say) can contain one.
"""

from __future__ import annotations

import secrets
from typing import Any

from litestar import Response
from litestar.utils.scope.state import ScopeState
from markupsafe import Markup, escape

from app.web import AnyRequest

_NONCE = secrets.token_hex(8)
HTML = "text/html"  # Litestar adds the charset


def slot(name: str) -> str:
    """The marker a shell carries in place of ``name``'s per-request value."""
    return f"slot-{_NONCE}-{name}"


CSRF_SLOT = slot("csrf")
FLASH_SLOT = slot("flash")


def fragment(html: str) -> Markup:
    """HTML this module rendered through autoescaping templates (and perhaps cached): safe to embed as is."""
    return Markup(html)  # noqa: S704 - our own rendered template output, not user input


def render(request: AnyRequest, template: str, /, **context: Any) -> str:
    """``template`` with ``context`` only: a fragment rendered this way cannot show anything of the request."""
    engine = request.app.template_engine
    if engine is None:
        raise RuntimeError("the portal needs a template engine")
    return str(engine.get_template(template).render(**context))


def render_shell(request: AnyRequest, template: str, **context: Any) -> str:
    """``template`` rendered as a shell: the CSRF token and the flash messages are left as slots."""
    return render(request, template, request=request, csrf_token=lambda: CSRF_SLOT, flash_slot=FLASH_SLOT, **context)


def _flashes_html(request: AnyRequest) -> str:
    session = request.scope.get("session")
    if not isinstance(session, dict) or not session.get("_messages"):
        return ""
    return render(request, "partials/flash.html", request=request)  # pops them, as a rendered page would


def serve_shell(request: AnyRequest, shell: str, slots: dict[str, str] | None = None) -> Response[str]:
    """The page for this request: ``shell`` with its slots filled (``slots`` maps markers to plain text, which
    is escaped as the template would have)."""
    token = ScopeState.from_scope(request.scope).csrf_token
    page = shell.replace(CSRF_SLOT, token if isinstance(token, str) else "")
    page = page.replace(FLASH_SLOT, _flashes_html(request))
    for marker, value in (slots or {}).items():
        page = page.replace(marker, str(escape(value)))
    return Response(page, media_type=HTML)
