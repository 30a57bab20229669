"""The Piccolo app that owns Recurra's tables and their migrations."""

from pathlib import Path

from piccolo.conf.apps import AppConfig, table_finder

TABLE_MODULES = [
    "tables.clocks",
    "tables.accounts",
    "tables.catalog",
    "tables.content",
    "tables.payments",
    "tables.subscriptions",
    "tables.billing",
    "tables.support",
    "tables.outbox",
    "tables.partners",
    "tables.audit",
]

APP_CONFIG = AppConfig(
    app_name="recurra",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=table_finder(modules=TABLE_MODULES, exclude_imported=True),
    migration_dependencies=["piccolo.apps.user.piccolo_app", "piccolo_api.session_auth.piccolo_app"],
    commands=[],
)
