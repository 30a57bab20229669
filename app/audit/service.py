"""Write audit entries for staff changes and security events. Entries are never updated or deleted."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app import clock
from tables.audit import AuditLog

SYSTEM = "system"


def actor_for_customer(customer_id: int) -> str:
    return f"customer:{customer_id}"


def actor_for_staff(user_id: int) -> str:
    return f"staff:{user_id}"


def actor_for_partner(partner_id: int) -> str:
    return f"partner:{partner_id}"


def _jsonable(values: Mapping[str, Any] | None) -> dict[str, Any]:
    return {
        key: value if isinstance(value, str | int | float | bool | None) else str(value)
        for key, value in (values or {}).items()
    }


async def record_audit(
    action: str,
    *,
    actor: str,
    actor_label: str = "",
    target_type: str = "",
    target_id: int | str = "",
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    ip: str = "",
) -> None:
    """Append one audit entry. ``action`` is a dotted verb such as ``customer.login_failed`` or
    ``admin.plan.patch``; ``before``/``after`` hold the changed fields where the change matters."""
    await AuditLog.insert(
        AuditLog(
            actor=actor,
            actor_label=actor_label[:320],
            action=action,
            target_type=target_type,
            target_id=str(target_id),
            before=_jsonable(before),
            after=_jsonable(after),
            ip=ip[:45],
            created_at=clock.now(),
        )
    )
