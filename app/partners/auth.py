"""Authentication, per-key rate limit and scope checks for the partner API, as one Litestar guard.

Every route under the partner router is authenticated; a route that needs scopes says so in its ``opt``::

    @get("/plans", opt=requires(Scope.plans_read))
    async def plans(self, request: Request[Any, Any, Any]) -> list[PlanView]:
        partner = current_partner(request)

Failures are domain errors, so they leave as problem+json: 401 with ``WWW-Authenticate: Bearer`` (missing,
malformed, unknown, revoked or expired key), 429 with ``Retry-After``, 403 ``insufficient_scope``.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection, Request
from litestar.handlers.base import BaseRouteHandler

from app.audit.service import record_audit
from app.errors import NotAuthenticated, PermissionDenied, RateLimited
from app.partners.scopes import Scope
from app.partners.service import ApiPrincipal, authenticate_api_key
from app.ratelimit import RateLimiter
from app.settings import Settings

SCOPES_OPT = "scopes"
REALM = 'Bearer realm="recurra-api"'
RATE_WINDOW_S = 60
FAILED_KEYS_PER_ADDRESS = (30, 60)


def requires(*scopes: Scope) -> dict[str, Any]:
    """Route ``opt`` naming the scopes a partner key needs for the route."""
    return {SCOPES_OPT: tuple(scopes)}


def _bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    header = connection.headers.get("authorization")
    if not header:
        raise NotAuthenticated(
            "This API needs an API key: send 'Authorization: Bearer <key>'.",
            code="missing_api_key",
            headers={"WWW-Authenticate": REALM},
        )
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated(
            "The Authorization header must be 'Bearer <key>'.",
            code="invalid_api_key",
            headers={"WWW-Authenticate": f'{REALM}, error="invalid_request"'},
        )
    return token.strip()


async def _authenticate(connection: ASGIConnection[Any, Any, Any, Any], token: str) -> ApiPrincipal:
    try:
        return await authenticate_api_key(token)
    except NotAuthenticated as exc:
        exc.headers = {"WWW-Authenticate": f'{REALM}, error="invalid_token"'}
        # Failed keys are audited and counted per address; past the limit the caller waits (and a flood of
        # bad keys cannot flood the audit log).
        ip = connection.client.host if connection.client else ""
        limiter: RateLimiter = connection.app.state.rate_limiter
        decision = await limiter.hit(f"api-auth-fail:{ip}", *FAILED_KEYS_PER_ADDRESS)
        if not decision.allowed:
            raise RateLimited(
                f"Too many requests with invalid API keys; try again in {decision.retry_after_s} s.",
                headers={"Retry-After": str(decision.retry_after_s)},
                extra={"retry_after_s": decision.retry_after_s},
            ) from exc
        await record_audit("partner.auth_failed", actor="anonymous", actor_label=token[:11], ip=ip,
                           after={"code": exc.code})  # fmt: skip
        raise


async def _enforce_rate_limit(connection: ASGIConnection[Any, Any, Any, Any], principal: ApiPrincipal) -> None:
    settings: Settings = connection.app.state.settings
    limiter: RateLimiter = connection.app.state.rate_limiter
    # Keyed by the prefix, not the row id: ids restart in a fresh database, prefixes are random.
    decision = await limiter.hit(f"partner-key:{principal.key_prefix}", settings.partner_api_rate_limit, RATE_WINDOW_S)
    if not decision.allowed:
        raise RateLimited(
            f"Too many requests for this API key; try again in {decision.retry_after_s} s.",
            headers={"Retry-After": str(decision.retry_after_s)},
            extra={"retry_after_s": decision.retry_after_s},
        )


def _check_scopes(principal: ApiPrincipal, handler: BaseRouteHandler) -> None:
    needed: tuple[Scope, ...] = handler.opt.get(SCOPES_OPT, ())
    missing = [s.value for s in needed if s.value not in principal.scopes]
    if missing:
        raise PermissionDenied(
            f"This API key lacks the scope(s) {', '.join(missing)}.",
            code="insufficient_scope",
            extra={"required_scopes": [s.value for s in needed], "missing_scopes": missing},
            headers={"WWW-Authenticate": f'{REALM}, error="insufficient_scope", scope="{" ".join(missing)}"'},
        )


async def partner_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Authenticate the key (every request: revocation is immediate), count it against its rate limit,
    then check the route's scopes."""
    principal = await _authenticate(connection, _bearer_token(connection))
    await _enforce_rate_limit(connection, principal)
    _check_scopes(principal, handler)
    connection.state.partner = principal


def current_partner(request: Request[Any, Any, Any]) -> ApiPrincipal:
    """The principal ``partner_guard`` authenticated for this request."""
    principal: ApiPrincipal = request.state.partner
    return principal
