"""Run by test_sqlite_demo in its own process: Piccolo binds its engine from DATABASE_URL at import, so the
demo's SQLite database can only be driven from a process started with the demo's environment."""

from __future__ import annotations

import asyncio
import json
import os

from app.money import Money
from app.payments import refunds, service
from app.settings import SANDBOX_MOUNT_PATH
from tables.accounts import Customer
from tables.billing import Invoice
from tables.payments import Refund, WebhookEvent
from tests.paypal import Buyer, SandboxControl, sandbox_gateway


async def main() -> dict[str, object]:
    api_url = os.environ["BASE_URL"] + SANDBOX_MOUNT_PATH
    gateway = sandbox_gateway(api_url, timeout_s=10)
    customer = Customer(email="demo-buyer@example.com", password_hash="x", name="Demo", country="US")
    await customer.save()
    first = Invoice(customer=customer.id, currency="USD", status=Invoice.Status.open, total_minor=1500)
    await first.save()
    started = await service.start_checkout_payment(
        gateway, first.id, return_url="https://x.example/r", cancel_url="https://x.example/c"
    )
    assert started.approve_url is not None
    token = (await Buyer().approve(started.approve_url))["token"]
    captured = await service.capture_checkout_payment(gateway, token)
    renewal = Invoice(customer=customer.id, currency="USD", status=Invoice.Status.open, total_minor=700)
    await renewal.save()
    charged = await service.charge_invoice(gateway, renewal.id)
    refunded = await refunds.refund(gateway, captured.payment_id, Money(500, "USD"), actor="staff", reason="demo")
    async with SandboxControl(api_url) as sandbox:
        await sandbox.flush()
    hooks = await WebhookEvent.select(WebhookEvent.event_type, WebhookEvent.status).order_by(WebhookEvent.id)
    refund_rows = await Refund.select(Refund.status, Refund.amount_minor, Refund.gateway_refund_id)
    return {
        "capture": captured.status,
        "charge": charged.status,
        "refund": refunded.status,
        "webhooks": sorted([h["event_type"], h["status"]] for h in hooks),
        "refunds": [[r["status"], r["amount_minor"], bool(r["gateway_refund_id"])] for r in refund_rows],
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main())))
