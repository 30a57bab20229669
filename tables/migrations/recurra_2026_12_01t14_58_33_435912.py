from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-01T14:58:33:435912"
VERSION = "1.38.0"
DESCRIPTION = "help articles: category text renamed (categories become a table)"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="recurra", description=DESCRIPTION
    )

    manager.rename_column(
        table_class_name="KnowledgeBaseArticle",
        tablename="knowledge_base_article",
        old_column_name="category",
        new_column_name="category_name",
        old_db_column_name="category",
        new_db_column_name="category_name",
        schema=None,
    )

    return manager
