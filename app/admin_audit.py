"""Audit entries for every change staff make through the admin's table endpoints (piccolo_api hooks).

piccolo_api runs a hook *before* its own write, and has no hook after it. So that an entry never describes a
change that did not happen (a unique or foreign-key violation fails the write) and a created row's entry can
name its id, each hook makes the change itself, together with the audit entry, in one transaction.
piccolo_api's own write that follows repeats it as a no-op: the same UPDATE again, or a DELETE that finds
nothing. One visible effect: the create endpoint then answers 201 with ``[]`` instead of ``[{"id": ...}]``
(the admin UI does not read that body).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

from piccolo.apps.user.tables import BaseUser
from piccolo.columns import Column
from piccolo.table import Table
from piccolo_api.crud.hooks import Hook, HookType
from starlette.exceptions import HTTPException
from starlette.requests import Request

from app.admin_permissions import refused_columns
from app.audit.service import actor_for_staff, record_audit
from app.db import write_transaction

REDACTED = "[secret]"


class ActorFields(TypedDict):
    actor: str
    actor_label: str
    ip: str


def actor_fields(request: Request) -> ActorFields:
    """record_audit's actor, actor_label and ip for the staff member making an admin request."""
    user: BaseUser = request.user.user
    return ActorFields(
        actor=actor_for_staff(user.id),
        actor_label=str(user.username),
        ip=request.client.host if request.client else "",
    )


def _name(column: Column | str) -> str:
    return column if isinstance(column, str) else column._meta.name


def _redacted(table: type[Table], values: Mapping[str, Any]) -> dict[str, Any]:
    """Secret columns (hashes, webhook secrets, passwords) are recorded as changed, never by value."""
    secret = {c._meta.name for c in table._meta.columns if c._meta.secret}
    return {k: REDACTED if k in secret else v for k, v in values.items()}


def _check_editable(table: type[Table], changed: list[str]) -> None:
    """Only what changes counts: the admin UI sends every field of the row it edits."""
    if refused := refused_columns(table, set(changed)):
        raise HTTPException(status_code=403, detail=f"These fields cannot be changed here: {', '.join(refused)}.")


def audit_hooks(table: type[Table]) -> list[Hook]:
    """pre_save / pre_patch / pre_delete hooks that write ``admin.<table>.<create|update|delete>`` entries
    with the values before and after (only the fields that changed, for updates)."""
    tablename = table._meta.tablename
    pk = table._meta.primary_key

    async def on_create(row: Table, request: Request) -> Table:
        async with write_transaction():
            await row.save()
            await record_audit(
                f"admin.{tablename}.create",
                **actor_fields(request),
                target_type=tablename,
                target_id=getattr(row, pk._meta.name),
                after=_redacted(table, row.to_dict()),
            )
        return row

    async def on_patch(row_id: Any, values: dict[Any, Any], request: Request) -> dict[Any, Any]:
        by_name = {_name(column): value for column, value in values.items()}
        async with write_transaction():
            columns = [table._meta.get_column_by_name(n) for n in by_name]
            before = await table.select(*columns).where(pk == row_id).first()
            if before is None:
                return values  # piccolo_api answers for the missing row
            changed = [n for n, v in by_name.items() if before.get(n) != v]
            _check_editable(table, changed)
            # BaseUser hashes a new password after the hooks run; leave that one to piccolo_api.
            to_apply = {k: v for k, v in values.items() if not (table is BaseUser and _name(k) == "password")}
            if to_apply:
                await table.update(to_apply).where(pk == row_id)
            if changed:
                await record_audit(
                    f"admin.{tablename}.update",
                    **actor_fields(request),
                    target_type=tablename,
                    target_id=row_id,
                    before=_redacted(table, {n: before.get(n) for n in changed}),
                    after=_redacted(table, {n: by_name[n] for n in changed}),
                )
        return values

    async def on_delete(row_id: Any, request: Request) -> None:
        async with write_transaction():
            before = await table.select().where(pk == row_id).first()
            if before is None:
                return
            await table.delete().where(pk == row_id)
            await record_audit(
                f"admin.{tablename}.delete",
                **actor_fields(request),
                target_type=tablename,
                target_id=row_id,
                before=_redacted(table, before),
            )

    return [
        Hook(HookType.pre_save, on_create),
        Hook(HookType.pre_patch, on_patch),
        Hook(HookType.pre_delete, on_delete),
    ]
