"""HTTP wiring shared by every domain: templates, static files, sessions, CSRF, the admin mount."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from jinja2 import pass_context
from litestar import Litestar, Request, asgi
from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.enums import RequestEncodingType
from litestar.handlers import ASGIRouteHandler
from litestar.middleware import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.params import Body
from litestar.plugins.flash import get_flashes
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect
from litestar.response.redirect import ASGIRedirectResponse
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import ASGIApp, Empty, HTTPSendMessage, Message, Receive, Scope, ScopeSession, Send

from app.admin_login import StaffLoginGuard
from app.audit.service import actor_for_customer
from app.logs import RequestContextMiddleware
from app.money import format_money
from app.payments.gateway import PaymentGateway
from app.security import SecurityHeadersMiddleware, TrustedProxyMiddleware
from app.settings import PROJECT_ROOT, Settings
from tables.accounts import Customer

# The portal's shared annotations: any request, and a posted HTML form as a dict of strings.
AnyRequest = Request[Any, Any, Any]
Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]

STATIC_DIR = Path(__file__).parent / "static"
TEMPLATE_DIR = PROJECT_ROOT / "portal_templates"
HTMX_ASSET = "htmx-2.0.11.min.js"
SESSION_COOKIE = "recurra_session"
CSRF_COOKIE = "recurra_csrf"  # piccolo-admin's own CSRF layer owns the default name "csrftoken"
CSRF_HEADER = "x-csrftoken"
# Paths with their own authentication and CSRF story: the admin (piccolo's), partners (API keys),
# gateways (signatures), probes and assets (no state).
# Litestar searches the whole path with these patterns: anchored, so /catalog/api-basics stays a portal page.
NON_PORTAL_PATHS = [
    rf"^{prefix}(/|$)" for prefix in ("/admin", "/api", "/webhooks", "/_sandbox", "/health", "/static", "/schema")
]


class RecurraLitestar(Litestar):
    """Litestar with the edge layers around everything it serves (routes, the mounted admin, 404s):
    trusted-proxy addresses, then the request id and access log, then security headers."""

    def _create_asgi_handler(self) -> ASGIApp:
        settings: Settings = self.state.settings
        inner = SecurityHeadersMiddleware(super()._create_asgi_handler(), settings)
        return TrustedProxyMiddleware(RequestContextMiddleware(inner), settings.trusted_proxies)


@pass_context
def pop_flashes(context: Any) -> list[dict[str, Any]]:
    """Flash messages for this page; none where no session runs (404s, which match no route)."""
    request = context.get("request")
    if request is None or "session" not in request.scope:
        return []
    return list(get_flashes(context))


def template_config(settings: Settings) -> TemplateConfig[JinjaTemplateEngine]:
    def register_globals(engine: JinjaTemplateEngine) -> None:
        env = engine.engine
        env.globals.update(
            site_name=settings.site_name,
            htmx_asset=HTMX_ASSET,
            dev_mail_enabled=settings.dev_mail_enabled,
            support_email=settings.support.support_email,
            pop_flashes=pop_flashes,
        )
        env.filters["money"] = format_money

    return TemplateConfig(directory=TEMPLATE_DIR, engine=JinjaTemplateEngine, engine_callback=register_globals)


def static_router() -> Any:
    return create_static_files_router(path="/static", directories=[STATIC_DIR], include_in_schema=False)


class LeanSessionBackend(ServerSideSessionBackend):
    """Litestar's server-side sessions, minus a stored row and a cookie for every visitor: the portal's session
    only carries flash messages, so an empty session is never written, and one that became empty is deleted."""

    async def store_in_message(
        self, scope_session: ScopeSession, message: Message, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> None:
        if scope_session is Empty or not scope_session:
            if connection.cookies.get(self.config.key) is None:
                return
            scope_session = Empty
        await super().store_in_message(scope_session, message, connection)


@dataclass
class LeanSessionConfig(ServerSideSessionConfig):
    _backend_class = LeanSessionBackend


def session_config(settings: Settings) -> ServerSideSessionConfig:
    return LeanSessionConfig(
        key=SESSION_COOKIE,
        store="sessions",
        secure=settings.https,
        httponly=True,
        samesite="lax",
        max_age=14 * 24 * 3600,
        exclude=NON_PORTAL_PATHS,
    )


class PortalCSRFMiddleware(CSRFMiddleware):
    """Litestar's CSRF middleware, writing a new visitor's cookie header from a template made once: building it
    through http.cookies for every first page cost as much as serving a cached catalog page."""

    def __init__(self, app: ASGIApp, config: CSRFConfig) -> None:
        super().__init__(app, config)
        marker = "tokenmarker"
        header = Cookie(
            key=config.cookie_name,
            value=marker,
            path=config.cookie_path,
            secure=config.cookie_secure,
            httponly=config.cookie_httponly,
            samesite=config.cookie_samesite,
            domain=config.cookie_domain,
        ).to_header(header="")
        self._cookie_head, _, self._cookie_tail = header.partition(marker)

    def _set_cookie_if_needed(self, message: HTTPSendMessage, token: str) -> None:
        # Tokens are hex: nothing to quote.
        MutableScopeHeaders.from_message(message).add("set-cookie", f"{self._cookie_head}{token}{self._cookie_tail}")


def csrf_middleware(settings: Settings) -> DefineMiddleware:
    return DefineMiddleware(PortalCSRFMiddleware, config=csrf_config(settings))


def csrf_config(settings: Settings) -> CSRFConfig:
    return CSRFConfig(
        secret=settings.secret_key,
        cookie_name=CSRF_COOKIE,
        header_name=CSRF_HEADER,
        cookie_secure=settings.https,
        cookie_samesite="lax",
        exclude=NON_PORTAL_PATHS,
    )


def admin_mount(admin_app: ASGIApp) -> ASGIRouteHandler:
    guarded = StaffLoginGuard(admin_app)

    @asgi("/admin", is_mount=True, copy_scope=True, include_in_schema=False)
    async def admin(scope: Scope, receive: Receive, send: Send) -> None:
        # piccolo-admin's assets are relative: /admin without the slash would load them from /.
        if scope["path"] in {"", "/"} and not scope.get("raw_path", b"").endswith(b"/"):
            await ASGIRedirectResponse(path="/admin/", status_code=308)(scope, receive, send)
            return
        await guarded(scope, receive, send)

    return admin


def see_other(path: str, cookies: list[Cookie] | None = None) -> Redirect:
    """The portal's redirect: 303, so a browser follows a form POST with a GET (and a reload never re-posts)."""
    return Redirect(path, status_code=303, cookies=cookies or [])


def away(url: str) -> Redirect:
    """A 303 to another site (PayPal's approval page): the portal's redirect, for an absolute URL."""
    return Redirect(url, status_code=303)


def base_url(request: Request[Any, Any, Any]) -> str:
    """The public address return URLs (PayPal's, mail links) are built on."""
    return str(request.app.state.settings.base_url).rstrip("/")


def app_settings(request: Request[Any, Any, Any]) -> Settings:
    found: Settings = request.app.state.settings
    return found


def gateway(request: Request[Any, Any, Any]) -> PaymentGateway:
    found: PaymentGateway = request.app.state.gateway
    return found


def actor(customer: Customer) -> str:
    """How the customer appears in event trails (the audit log's own form)."""
    return actor_for_customer(customer.id)
