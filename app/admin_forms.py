"""Staff actions in the admin (piccolo-admin forms) that call services: issuing and revoking partner API keys.

Forms are not table endpoints, so no table validator guards them: each form checks the role itself
(the same rule as for the ApiKey table) and writes its own audit entry.
"""

from __future__ import annotations

from datetime import timedelta

from piccolo_admin.endpoints import FormConfig
from pydantic import BaseModel, Field
from starlette.requests import Request

from app import clock
from app.admin_audit import actor_fields
from app.admin_permissions import Action, require
from app.audit.service import record_audit
from app.errors import DomainError
from app.partners import service as partners
from app.partners.scopes import KNOWN_SCOPES
from tables.partners import ApiKey

FORM_GROUP = "Partners"


class IssueApiKeyForm(BaseModel):
    partner_id: int = Field(description="The partner's id (see the Partner table).")
    name: str = Field(default="", max_length=100, description="What the key is for, e.g. 'CRM sync'.")
    scopes: str = Field(description="Space-separated. Known scopes: " + " ".join(sorted(KNOWN_SCOPES)))
    expires_in_days: int | None = Field(default=None, ge=1, le=3650, description="Leave empty: no expiry.")


class RevokeApiKeyForm(BaseModel):
    prefix: str = Field(description="The key's visible prefix, e.g. rk_ab12cd34. Takes effect on its next request.")


async def issue_api_key(request: Request, data: IssueApiKeyForm) -> str:
    # Issuing a key creates an ApiKey row, which no table endpoint may do: the check is "update" (what
    # superusers may do on ApiKey), so only roles trusted with partner credentials get here.
    await require(request, ApiKey, Action.update)
    expires_at = clock.now() + timedelta(days=data.expires_in_days) if data.expires_in_days else None
    try:
        issued = await partners.issue_api_key(
            data.partner_id, name=data.name, scopes=data.scopes.split(), expires_at=expires_at
        )
    except DomainError as exc:
        raise ValueError(exc.detail) from exc  # piccolo-admin shows a ValueError's message on the form
    await record_audit(
        "partner.api_key_issued",
        **actor_fields(request),
        target_type="api_key",
        target_id=issued.id,
        after={
            "partner_id": issued.partner_id,
            "prefix": issued.prefix,
            "scopes": " ".join(issued.scopes),
            "expires_at": issued.expires_at,
        },
    )
    expiry = f"expires {issued.expires_at:%Y-%m-%d %H:%M} UTC" if issued.expires_at else "does not expire"
    return (
        f"API key {issued.prefix} ({' '.join(issued.scopes)}; {expiry}): {issued.key} "
        "-- copy it now: it is shown only this once and cannot be recovered."
    )


async def revoke_api_key(request: Request, data: RevokeApiKeyForm) -> str:
    await require(request, ApiKey, Action.update)
    try:
        key_id = await partners.revoke_api_key(data.prefix)
    except DomainError as exc:
        raise ValueError(exc.detail) from exc
    if key_id is None:
        return f"API key {data.prefix} was already revoked."
    await record_audit(
        "partner.api_key_revoked",
        **actor_fields(request),
        target_type="api_key",
        target_id=key_id,
        after={"prefix": data.prefix.strip()},
    )
    return f"API key {data.prefix} is revoked: its next request is refused."


def admin_forms() -> list[FormConfig]:
    return [
        FormConfig(
            name="Issue API key",
            pydantic_model=IssueApiKeyForm,
            endpoint=issue_api_key,
            description="Create a partner API key. The key is shown once; only its hash is stored.",
            form_group=FORM_GROUP,
        ),
        FormConfig(
            name="Revoke API key",
            pydantic_model=RevokeApiKeyForm,
            endpoint=revoke_api_key,
            description="Stop a partner API key from working, from its next request on.",
            form_group=FORM_GROUP,
        ),
    ]
