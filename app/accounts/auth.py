"""Who is asking: the customer behind the session cookie, for portal routes and templates."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import Cookie
from litestar.di import NamedDependency

from app.accounts import sessions
from app.accounts.service import AccountsContext, get_customer
from app.errors import NotAuthenticated, NotFound
from tables.accounts import Customer

AUTH_STORE = "auth"


def client_ip(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else ""


def accounts_context(request: Request[Any, Any, Any]) -> AccountsContext:
    state = request.app.state
    return AccountsContext(
        settings=state.settings,
        queue=state.queue,
        limiter=state.rate_limiter,
        store=request.app.stores.get(AUTH_STORE),
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent", ""),
    )


async def load_session(request: Request[Any, Any, Any]) -> None:
    """before_request hook of the portal: put the session (or None) on request.state for routes and templates."""
    token = request.cookies.get(sessions.AUTH_COOKIE)
    info = await sessions.resolve_session(request.app.stores.get(AUTH_STORE), token) if token else None
    request.state.customer_session = info


def session_customer_id(request: Request[Any, Any, Any]) -> int | None:
    """The logged-in customer's id from the session (no SQL), or None."""
    info = getattr(request.state, "customer_session", None)
    return int(info.customer_id) if info is not None else None


async def provide_customer(request: Request[Any, Any, Any]) -> Customer:
    """The logged-in customer, or NotAuthenticated (the portal answers with a redirect to /login)."""
    info = getattr(request.state, "customer_session", None)
    if info is None:
        raise NotAuthenticated("Log in to continue.")
    try:
        return await get_customer(info.customer_id)
    except NotFound:
        raise NotAuthenticated("Log in to continue.") from None


# A route parameter ``customer: CurrentCustomer`` gets the logged-in customer (with Provide(provide_customer)).
CurrentCustomer = NamedDependency[Customer]


def session_cookie(request: Request[Any, Any, Any], token: str, *, remember: bool) -> Cookie:
    settings = request.app.state.settings
    return Cookie(
        key=sessions.AUTH_COOKIE,
        value=token,
        httponly=True,
        secure=settings.https,
        samesite="lax",
        path="/",
        max_age=int(sessions.REMEMBERED_LIFETIME.total_seconds()) if remember else None,
    )


def cleared_cookie(request: Request[Any, Any, Any], key: str) -> Cookie:
    return Cookie(
        key=key, value="", max_age=0, path="/", httponly=True, secure=request.app.state.settings.https, samesite="lax"
    )


def safe_next(target: str | None, default: str = "/account") -> str:
    """Only same-site paths: '/x' but never '//evil.example' or 'https://evil.example'."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default
