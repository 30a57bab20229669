from __future__ import annotations

from datetime import datetime

import msgspec


class PartnerView(msgspec.Struct, frozen=True):
    id: int
    name: str


class ApiKeyView(msgspec.Struct, frozen=True):
    prefix: str
    name: str
    scopes: list[str]
    expires_at: datetime | None


class MeView(msgspec.Struct, frozen=True):
    """GET /api/v1/me: who the key belongs to and what it may do."""

    partner: PartnerView
    api_key: ApiKeyView
    scopes: list[str]
