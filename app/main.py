"""create_app(settings) -> Litestar: plugins, routers and lifespan. Nothing else lives here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from arq import create_pool
from arq.connections import RedisSettings as ArqRedisSettings
from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import RedocRenderPlugin, StoplightRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.flash import FlashConfig, FlashPlugin
from litestar.plugins.htmx import HTMXPlugin

from app import web
from app.accounts.account_portal import AccountPortal
from app.accounts.auth import load_session
from app.accounts.portal import AuthPortal
from app.admin import build_admin
from app.billing.portal import BillingPortal, InvoicesPortal
from app.catalog.portal import PricingPortal
from app.content.portal import CatalogPortal
from app.content.runtime import ContentRuntime, install_outbox_handlers
from app.db import close_database, open_database
from app.devmail.portal import DevMailPortal
from app.errors import EXCEPTION_HANDLERS
from app.health.api import HealthController
from app.jobs import ArqJobQueue, InProcessJobQueue
from app.logs import configure_logging
from app.partners.api import SECURITY_SCHEME, partner_api_router
from app.payments.api import paypal_webhook
from app.payments.sandbox.app import embedded_mount
from app.payments.service import gateway_for
from app.ratelimit import build_rate_limiter
from app.server import freeze_startup_heap
from app.settings import Settings, get_settings
from app.staff.routes import staff_router
from app.stores import build_store_registry, connect_redis
from app.subscriptions.portal import CheckoutPortal, SubscribePortal, SubscriptionsPortal
from app.support.attachments import AttachmentStore
from app.support.chat_hub import build_chat_hub
from app.support.chat_portal import CHAT_ROUTES
from app.support.help.portal import HelpPortal
from app.support.portal import RatingPortal, SupportPortal, support_file
from app.support.service import SupportDesk
from tasks import worker


def _lifespan(settings: Settings):  # type: ignore[no-untyped-def]
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await open_database()
        if settings.redis.url:
            pool = await create_pool(ArqRedisSettings.from_dsn(settings.redis.url))
            app.state.queue = ArqJobQueue(pool, worker.queue_name(settings))
            # The worker dispatches the outbox; this process drops entitlements its own requests change at commit.
            uninstall = install_outbox_handlers(app.state.content)
            freeze_startup_heap(settings)
            try:
                yield
            finally:
                uninstall()
                await pool.aclose()
                await close_database()
            return
        # Embedded default: the worker's job functions and cron schedule run on this event loop.
        ctx = worker.build_context(settings, app.stores, app.state.content)
        queue = InProcessJobQueue(worker.FUNCTIONS, ctx)
        ctx["queue"] = app.state.queue = queue
        queue.start_cron(worker.CRON_JOBS)
        freeze_startup_heap(settings)
        try:
            yield
        finally:
            await queue.aclose()
            await close_database()

    return lifespan


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_json)
    redis = connect_redis(settings)
    templates = web.template_config(settings)
    session = web.session_config(settings)
    stores = build_store_registry(settings, redis)
    content = ContentRuntime.build(settings, stores)
    rate_limiter = build_rate_limiter(settings, redis)
    support = SupportDesk(settings, rate_limiter, AttachmentStore(settings.support))
    chat = build_chat_hub(settings, redis, rate_limiter, support)

    portal: list[Any] = [PricingPortal, CatalogPortal, AuthPortal, AccountPortal, SubscribePortal, CheckoutPortal,
                         SubscriptionsPortal, BillingPortal, InvoicesPortal, SupportPortal, RatingPortal,
                         support_file, HelpPortal]  # fmt: skip
    if settings.dev_mail_enabled:
        portal.append(DevMailPortal)
    route_handlers = [
        # Portal pages know who is logged in (request.state.customer_session) before they run.
        Router(path="/", route_handlers=portal, before_request=load_session),
        HealthController,
        partner_api_router(),
        web.static_router(),
        web.admin_mount(build_admin(settings, content)),
        staff_router(),
        paypal_webhook,
        *CHAT_ROUTES,
    ]
    if settings.paypal.mode == "embedded":
        route_handlers.append(embedded_mount(settings))

    async def close_redis() -> None:
        if redis is not None:
            await redis.aclose()

    return web.RecurraLitestar(
        route_handlers=route_handlers,
        lifespan=[_lifespan(settings)],
        on_shutdown=[close_redis],
        state=State(
            {
                "settings": settings,
                "redis": redis,
                "queue": None,
                "gateway": gateway_for(settings),
                "rate_limiter": rate_limiter,
                "content": content,
                "support": support,
                "chat": chat,
            }
        ),
        stores=stores,
        middleware=[session.middleware, web.csrf_middleware(settings)],
        template_config=templates,
        plugins=[HTMXPlugin(), FlashPlugin(config=FlashConfig(template_config=templates)), chat.channels],
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=OpenAPIConfig(
            title=f"{settings.site_name} API",
            version="1.0.0",
            description="Partner API (/api/v1) and operational endpoints. Errors are RFC 9457 problem+json.",
            path="/schema",
            components=Components(
                security_schemes={
                    SECURITY_SCHEME: SecurityScheme(
                        type="http", scheme="bearer", description="A partner API key issued in the admin"
                    )
                }
            ),
            render_plugins=[SwaggerRenderPlugin(), RedocRenderPlugin(), StoplightRenderPlugin()],
        ),
        logging_config=None,  # app.logs configures logging once, with request ids
        debug=False,
    )
