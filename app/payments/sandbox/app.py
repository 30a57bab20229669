"""The sandbox as its own small ASGI app (a Litestar instance): mounted by Recurra under /_sandbox/paypal in
embedded mode, or served alone by ``python -m app.payments.sandbox``."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Litestar, Request, Response, asgi
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.handlers import ASGIRouteHandler
from litestar.types import ASGIApp, Receive, Scope, Send

from app.payments.sandbox import api, approval, control
from app.payments.sandbox.config import SandboxConfig
from app.payments.sandbox.core import Sandbox, json_response
from app.payments.sandbox.errors import PayPalError
from app.payments.sandbox.journal import Journal
from app.settings import SANDBOX_MOUNT_PATH, Settings

log = logging.getLogger("recurra.sandbox")


def _paypal_error(request: Request[Any, Any, State], exc: PayPalError) -> Response[Any]:
    headers = {"Retry-After": "1"} if exc.status in {429, 503} else None
    return json_response(exc.status, exc.body(), headers)


def _http_error(request: Request[Any, Any, State], exc: HTTPException) -> Response[Any]:
    issue = "INVALID_RESOURCE_ID" if exc.status_code == 404 else None
    return _paypal_error(
        request,
        PayPalError(exc.status_code if exc.status_code in {400, 401, 403, 404} else 400, issue, str(exc.detail)),
    )


def _unexpected(request: Request[Any, Any, State], exc: Exception) -> Response[Any]:
    log.exception("sandbox failed on %s %s", request.method, request.url.path)
    return _paypal_error(request, PayPalError(500))


def create_sandbox_app(config: SandboxConfig) -> ASGIApp:
    sandbox = Sandbox(config)
    journal = Journal()
    app = Litestar(
        route_handlers=[*api.ROUTES, *approval.ROUTES, *control.ROUTES],
        state=State({"sandbox": sandbox, "journal": journal}),
        exception_handlers={PayPalError: _paypal_error, HTTPException: _http_error, Exception: _unexpected},
        openapi_config=None,
        logging_config=None,
        debug=False,
    )
    return journal.middleware(app)


def embedded_mount(settings: Settings) -> ASGIRouteHandler:
    """The sandbox inside Recurra at /_sandbox/paypal (embedded mode): it accepts Recurra's configured client
    and sends its webhooks to Recurra's own /webhooks/paypal."""
    sandbox_app = create_sandbox_app(
        SandboxConfig(
            public_url=settings.paypal.api_url,
            clients={settings.paypal.client_id: settings.paypal.client_secret},
            webhook_url=settings.paypal.webhook_url,
            webhook_id=settings.paypal.webhook_id,
            brand_name=settings.site_name,
        )
    )

    @asgi(SANDBOX_MOUNT_PATH, is_mount=True, copy_scope=True, include_in_schema=False)
    async def paypal_sandbox(scope: Scope, receive: Receive, send: Send) -> None:
        await sandbox_app(scope, receive, send)

    return paypal_sandbox
