"""Piccolo's configuration: the engine comes from the one Settings object (DATABASE_URL); it is Piccolo's with
after-commit callbacks (app.db)."""

from piccolo.conf.apps import AppRegistry
from piccolo.engine.base import Engine

from app.db import HookedPostgresEngine, HookedSQLiteEngine
from app.settings import DatabaseSettings, get_settings


def engine_for(database: DatabaseSettings) -> Engine:
    if database.engine == "sqlite":
        database.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        return HookedSQLiteEngine(path=str(database.sqlite_path))
    return HookedPostgresEngine(config={"dsn": database.url})


DB = engine_for(get_settings().database)

APP_REGISTRY = AppRegistry(
    apps=[
        "piccolo.apps.user.piccolo_app",
        "piccolo_api.session_auth.piccolo_app",
        "piccolo_admin.piccolo_app",
        "piccolo_api.mfa.authenticator.piccolo_app",  # staff TOTP secrets (AuthenticatorSecret)
        "tables.piccolo_app",
    ]
)
