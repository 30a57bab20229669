"""The public content's long-lived parts (the catalog's and the help centre's page caches, storage, settings),
built once per process from its stores, and the outbox handlers that keep entitlement caches honest."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from litestar.stores.registry import StoreRegistry

from app.content.cache import CATALOG_VERSION_KEY, PageCache
from app.content.storage import LocalMediaStorage, covers_storage, files_storage
from app.outbox import service as outbox
from app.settings import Settings
from app.stores import SHARED_VERSION_TTL_S
from app.subscriptions.access import EntitlementCache

CATALOG_STORE = "catalog"
HELP_STORE = "help"
HELP_VERSION_KEY = "help:version"
ENTITLEMENT_STORE = "entitlements"


@dataclass(frozen=True, slots=True)
class ContentRuntime:
    settings: Settings
    catalog: PageCache
    help: PageCache  # the help centre's pages (app.support.help), retired by help edits only
    entitlements: EntitlementCache
    storage: LocalMediaStorage  # item files, sent through signed links
    covers: LocalMediaStorage  # cover images, public for published items

    @classmethod
    def build(cls, settings: Settings, stores: StoreRegistry) -> ContentRuntime:
        version_ttl_s = SHARED_VERSION_TTL_S if settings.redis.enabled else 0.0
        return cls(
            settings=settings,
            catalog=PageCache(
                stores.get(CATALOG_STORE), settings.content.cache_ttl_s, version_ttl_s, CATALOG_VERSION_KEY
            ),
            help=PageCache(stores.get(HELP_STORE), settings.content.cache_ttl_s, version_ttl_s, HELP_VERSION_KEY),
            entitlements=EntitlementCache(stores.get(ENTITLEMENT_STORE)),
            storage=files_storage(settings.content),
            covers=covers_storage(settings.content),
        )


_installed: list[ContentRuntime] = []


async def _on_subscription_events(events: Sequence[outbox.DomainEvent]) -> None:
    for runtime in _installed[-1:]:
        await runtime.entitlements.on_subscription_events(events)


async def _on_subscription_event(event: outbox.DomainEvent) -> None:
    await _on_subscription_events([event])


def install_outbox_handlers(runtime: ContentRuntime) -> Callable[[], None]:
    """Subscription events reach this process's entitlement cache: when dispatched, and already the moment the
    change commits in this process (access ends or starts with the commit, not ~10 s later with the dispatch).
    The latest runtime installed wins (one per process); the function returned uninstalls it again."""
    if _on_subscription_event not in outbox.subscribers().get("subscription.*", ()):
        outbox.subscribe("subscription.*", _on_subscription_event)
        outbox.subscribe_on_commit("subscription.*", _on_subscription_events)
    _installed.append(runtime)

    def uninstall() -> None:
        if runtime in _installed:
            _installed.remove(runtime)

    return uninstall
