"""The content domain's part of the admin: upload storage for item files, a guard on item slugs, and hooks that
keep customers' view current when staff change the catalog (stamp and record the change, retire cached pages
and entitlements).

piccolo_api runs hooks in order before its own write; these come after the audit hooks, which make the write
themselves and commit (app.admin_audit), so they see the row as changed and act after the commit.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Awaitable, Callable
from typing import Any

from piccolo.table import Table
from piccolo_api.crud.hooks import Hook, HookType
from starlette.exceptions import HTTPException

from app.content import service
from app.content.runtime import ContentRuntime
from app.content.storage import COVER_EXTENSIONS, COVERS_FOLDER, FILES_FOLDER, AdminMediaStorage, MediaNotFound
from app.errors import InvalidInput
from app.slugs import SlugRule
from tables.catalog import Feature, Plan, PlanFeature, Product
from tables.content import ContentItem, ContentItemFeature, ContentItemTag, Tag


def media_storages(runtime: ContentRuntime) -> list[AdminMediaStorage]:
    content = runtime.settings.content
    return [
        AdminMediaStorage(ContentItem.media_key, content.media_dir / FILES_FOLDER, content.max_upload_bytes),
        AdminMediaStorage(
            ContentItem.cover_image, content.media_dir / COVERS_FOLDER, content.max_upload_bytes, COVER_EXTENSIONS
        ),
    ]


def by_name(values: dict[Any, Any]) -> dict[str, Any]:
    return {k if isinstance(k, str) else k._meta.name: v for k, v in values.items()}


def after_any_write(effect: Callable[[], Awaitable[None]]) -> list[Hook]:
    """pre_save, pre_patch and pre_delete hooks that run ``effect`` and pass the write on unchanged."""

    async def saved(row: Table) -> Table:
        await effect()
        return row

    async def patched(row_id: Any, values: dict[Any, Any]) -> dict[Any, Any]:
        await effect()
        return values

    async def deleted(row_id: Any) -> None:
        await effect()

    return [Hook(HookType.pre_save, saved), Hook(HookType.pre_patch, patched), Hook(HookType.pre_delete, deleted)]


class FieldRefused(HTTPException):
    """A 422 in the shape piccolo-admin's form shows under its fields ("slug field - <message>")."""

    detail: Any

    def __init__(self, field: str, message: str) -> None:
        super().__init__(status_code=422)
        self.detail = [{"loc": ["body", field], "msg": message, "type": "value_error"}]


def slug_guards(rule: SlugRule) -> list[Hook]:
    """pre_save and pre_patch hooks refusing a slug ``rule`` refuses, with the message on the form's slug field."""

    def check(slug: Any) -> None:
        try:
            rule.check(str(slug or ""))
        except InvalidInput as refused:
            raise FieldRefused("slug", refused.detail) from None

    async def creating(row: Table) -> Table:
        check(getattr(row, "slug", ""))
        return row

    async def patching(row_id: Any, values: dict[Any, Any]) -> dict[Any, Any]:
        if "slug" in (named := by_name(values)):
            check(named["slug"])
        return values

    return [Hook(HookType.pre_save, creating), Hook(HookType.pre_patch, patching)]


def content_guards() -> dict[type[Table], list[Hook]]:
    """Hooks that run before the audit hooks write: an item's slug must be an address of its own."""
    return {ContentItem: slug_guards(service.ITEM_SLUGS)}


def content_hooks(runtime: ContentRuntime) -> dict[type[Table], list[Hook]]:
    async def item_edited(item_id: int, changed: set[str]) -> None:
        media_size = None
        if "media_key" in changed:
            row = (
                await ContentItem.select(ContentItem.media_key, ContentItem.media_content_type)
                .where(ContentItem.id == item_id)
                .first()
            )
            if row and row["media_key"]:
                try:
                    media_size = (await runtime.storage.stat(row["media_key"])).size
                except MediaNotFound:
                    media_size = 0
                if not row["media_content_type"]:
                    guessed = mimetypes.guess_type(row["media_key"])[0] or "application/octet-stream"
                    await ContentItem.update({ContentItem.media_content_type: guessed}).where(ContentItem.id == item_id)
        if await service.after_staff_edit(item_id, changed, media_size):
            await runtime.catalog.bump()

    async def item_created(row: ContentItem) -> ContentItem:
        await item_edited(row.id, {c._meta.name for c in ContentItem._meta.columns})
        return row

    async def item_patched(row_id: Any, values: dict[Any, Any]) -> dict[Any, Any]:
        await item_edited(int(row_id), set(by_name(values)))
        return values

    async def catalog_changed() -> None:
        await runtime.catalog.bump()

    async def plans_changed() -> None:
        await runtime.entitlements.invalidate_all()  # what plans grant changed: every cached entitlement goes
        await runtime.catalog.bump()  # and "available on plan X" with it

    catalog, plans = after_any_write(catalog_changed), after_any_write(plans_changed)
    return {
        ContentItem: [
            Hook(HookType.pre_save, item_created),
            Hook(HookType.pre_patch, item_patched),
            catalog[2],
        ],
        ContentItemFeature: catalog,
        ContentItemTag: catalog,
        Tag: catalog,
        Product: catalog,
        Plan: plans,
        PlanFeature: plans,
        Feature: plans,
    }
