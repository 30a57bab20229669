"""Help articles keep what they had: each distinct category text becomes a help category (slug made from its
name) that the article points to, and published articles are ``published`` (since they were created), the rest
drafts. The vote counters go: votes are rows of their own now (``help_vote``); there was no page to vote on.

The data step runs before the columns are dropped (Piccolo runs raw steps first). Going backwards restores the
columns with their defaults only.
"""

import re

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import create_table_class

ID = "2026-12-01T14:58:40:241807"
VERSION = "1.38.0"
DESCRIPTION = "help articles: old category, published flag and vote counters dropped (data moved first)"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="recurra", description=DESCRIPTION
    )

    manager.drop_column(
        table_class_name="KnowledgeBaseArticle",
        tablename="knowledge_base_article",
        column_name="category_name",
        db_column_name="category_name",
        schema=None,
    )

    manager.drop_column(
        table_class_name="KnowledgeBaseArticle",
        tablename="knowledge_base_article",
        column_name="helpful_no",
        db_column_name="helpful_no",
        schema=None,
    )

    manager.drop_column(
        table_class_name="KnowledgeBaseArticle",
        tablename="knowledge_base_article",
        column_name="helpful_yes",
        db_column_name="helpful_yes",
        schema=None,
    )

    manager.drop_column(
        table_class_name="KnowledgeBaseArticle",
        tablename="knowledge_base_article",
        column_name="published",
        db_column_name="published",
        schema=None,
    )

    async def move_data() -> None:
        articles = create_table_class("KnowledgeBaseArticle", class_kwargs={"tablename": "knowledge_base_article"})
        categories = create_table_class("HelpCategory", class_kwargs={"tablename": "help_category"})
        rows = await articles.raw("SELECT DISTINCT category_name AS name FROM knowledge_base_article")
        taken = {r["slug"] for r in await categories.raw("SELECT slug FROM help_category")}
        for order, row in enumerate(sorted(rows, key=lambda r: r["name"])):
            base = re.sub(r"[^a-z0-9]+", "-", row["name"].lower()).strip("-") or "general"
            slug, n = base, 1
            while slug in taken:
                n += 1
                slug = f"{base}-{n}"
            taken.add(slug)
            await categories.raw(
                "INSERT INTO help_category (name, slug, description, sort_order) VALUES ({}, {}, '', {})",
                row["name"],
                slug,
                order,
            )
            await articles.raw(
                "UPDATE knowledge_base_article SET category = (SELECT id FROM help_category WHERE slug = {}) "
                "WHERE category_name = {}",
                slug,
                row["name"],
            )
        await articles.raw(
            "UPDATE knowledge_base_article SET "
            "publish_state = CASE WHEN published THEN 'published' ELSE 'draft' END, "
            "published_at = CASE WHEN published THEN created_at ELSE NULL END"
        )

    manager.add_raw(move_data)
    return manager
