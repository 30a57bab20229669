"""Gateway-facing HTTP: PayPal's webhook endpoint. Authenticated by signature, not by session or CSRF."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from litestar import Request, post
from litestar.datastructures import State
from litestar.exceptions import HTTPException

from app.errors import DomainError
from app.payments import webhooks
from app.payments.gateway import GatewayError, InvalidWebhook, PaymentGateway


@post("/webhooks/paypal", status_code=HTTPStatus.OK, include_in_schema=False)
async def paypal_webhook(request: Request[Any, Any, State]) -> dict[str, str]:
    gateway: PaymentGateway = request.app.state.gateway
    try:
        notification = await gateway.verify_webhook(request.headers, await request.body())
    except InvalidWebhook as exc:
        raise DomainError(str(exc), code="invalid_webhook") from None  # 400: store nothing
    except GatewayError as exc:  # PayPal could not verify now: answer 503 so it delivers again later
        raise HTTPException(status_code=HTTPStatus.SERVICE_UNAVAILABLE, detail=str(exc)) from None
    status = await webhooks.handle(notification)
    if status == webhooks.W.failed:
        raise HTTPException(status_code=HTTPStatus.INTERNAL_SERVER_ERROR, detail="processing failed; redeliver")
    return {"event_id": notification.event_id, "status": status}
