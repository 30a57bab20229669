"""How a bundled PayPal sandbox is set up: where it is reachable, whom it accepts, where it sends webhooks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from app.settings import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_WEBHOOK_ID

DEFAULT_WEBHOOK_ID = SANDBOX_WEBHOOK_ID
PAYPAL_TOKEN_TTL_S = 32400  # what PayPal's OAuth2 endpoint answers as expires_in


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    public_url: str  # the sandbox's own base URL: HATEOAS links, approval pages and cert URLs are built on it
    clients: Mapping[str, str] = field(default_factory=lambda: {SANDBOX_CLIENT_ID: SANDBOX_CLIENT_SECRET})
    webhook_url: str | None = None  # where signed events are POSTed; None keeps them undelivered
    webhook_id: str = DEFAULT_WEBHOOK_ID
    token_ttl_s: int = PAYPAL_TOKEN_TTL_S
    brand_name: str = "Recurra"  # shown when an order names no brand
