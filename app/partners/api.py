"""The partner JSON API under /api/v1. Every route is behind ``partner_guard`` (API key, rate limit, scopes)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Router, get

from app.catalog import service as catalog
from app.catalog.schemas import PlanView
from app.partners.auth import current_partner, partner_guard, requires
from app.partners.schemas import ApiKeyView, MeView, PartnerView
from app.partners.scopes import Scope

SECURITY_SCHEME = "partnerApiKey"


class PartnerController(Controller):
    path = "/"
    tags = ["partners"]

    @get("/me", summary="The partner and the scopes of the calling API key")
    async def me(self, request: Request[Any, Any, Any]) -> MeView:
        principal = current_partner(request)
        scopes = sorted(principal.scopes)
        return MeView(
            partner=PartnerView(id=principal.partner_id, name=principal.partner_name),
            api_key=ApiKeyView(
                prefix=principal.key_prefix, name=principal.key_name, scopes=scopes, expires_at=principal.expires_at
            ),
            scopes=scopes,
        )


class PlanController(Controller):
    path = "/plans"
    tags = ["catalog"]

    @get("/", summary="Public, active plans (scope plans:read)", opt=requires(Scope.plans_read))
    async def list_plans(self) -> list[PlanView]:
        return await catalog.list_public_plans()


def partner_api_router() -> Router:
    return Router(
        path="/api/v1",
        route_handlers=[PartnerController, PlanController],
        guards=[partner_guard],
        security=[{SECURITY_SCHEME: []}],
    )
