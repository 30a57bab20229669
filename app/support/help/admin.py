"""The help centre's part of the admin: slugs checked before they are saved, and hooks that keep readers' view
current when support staff change articles or categories (stamp the article, retire the cached help pages).

As for the catalog (app.content.admin), guards run before the audit hooks write and these hooks after them, so
they see the row as changed and act after its commit.
"""

from __future__ import annotations

from typing import Any

from piccolo.table import Table
from piccolo_api.crud.hooks import Hook, HookType

from app.content.admin import after_any_write, slug_guards
from app.content.runtime import ContentRuntime
from app.support.help import service
from tables.support import HelpCategory, KnowledgeBaseArticle


def help_guards() -> dict[type[Table], list[Hook]]:
    """An article's slug must be an address of its own under /help/, a category's under /help/category/."""
    return {KnowledgeBaseArticle: slug_guards(service.ARTICLE_SLUGS), HelpCategory: slug_guards(service.CATEGORY_SLUGS)}


def help_hooks(runtime: ContentRuntime) -> dict[type[Table], list[Hook]]:
    async def article_created(row: KnowledgeBaseArticle) -> KnowledgeBaseArticle:
        await service.after_staff_edit(int(row.id))
        await runtime.help.bump()
        return row

    async def article_patched(row_id: Any, values: dict[Any, Any]) -> dict[Any, Any]:
        await service.after_staff_edit(int(row_id))
        await runtime.help.bump()
        return values

    async def help_changed() -> None:
        await runtime.help.bump()

    categories = after_any_write(help_changed)
    return {
        KnowledgeBaseArticle: [
            Hook(HookType.pre_save, article_created),
            Hook(HookType.pre_patch, article_patched),
            categories[2],  # a deletion
        ],
        HelpCategory: categories,
    }
