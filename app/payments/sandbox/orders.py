"""Orders v2 and Payments v2 behaviour: create (buyer-approved or merchant-initiated with a vault id),
capture, refund. Declines and other business faults answer as PayPal does."""

from __future__ import annotations

from decimal import InvalidOperation
from typing import Any

from app.money import CurrencyError, Money
from app.payments.sandbox import ids
from app.payments.sandbox.core import Sandbox
from app.payments.sandbox.errors import PayPalError, found
from app.payments.sandbox.faults import FaultKind, FiredFaults
from app.payments.sandbox.store import Capture, Order, Payer, PaymentToken, Refund, Reply, timestamp


def parse_amount(value: Any, field: str) -> Money:
    if not isinstance(value, dict) or not value.get("currency_code") or not value.get("value"):
        raise PayPalError(400, "MISSING_REQUIRED_PARAMETER", "A required field is missing.", field)
    try:
        money = Money.from_decimal_string(str(value["value"]), str(value["currency_code"]))
    except InvalidOperation:
        raise PayPalError(400, "INVALID_PARAMETER_VALUE", "The value of a field is invalid.", field) from None
    except CurrencyError as exc:
        issue = "DECIMAL_PRECISION" if "decimals" in str(exc) else "INVALID_CURRENCY_CODE"
        raise PayPalError(422, issue, str(exc), field) from None
    if money.amount_minor <= 0:
        raise PayPalError(422, "CANNOT_BE_ZERO_OR_NEGATIVE", "Must be greater than zero.", field)
    return money


def order_or_404(sandbox: Sandbox, order_id: str) -> Order:
    return found(sandbox.store.orders, order_id)


def vault_payer(sandbox: Sandbox, body: dict[str, Any]) -> str | None:
    """The payer a merchant-initiated order charges (per-payer faults need it before the work starts)."""
    vault_id = body.get("payment_source", {}).get("paypal", {}).get("vault_id")
    token = sandbox.store.payment_tokens.get(vault_id or "")
    return token.payer.email if token else None


def _capture(sandbox: Sandbox, order: Order, payer: Payer, faults: FiredFaults) -> Capture:
    declined = faults.business() == FaultKind.INSUFFICIENT_FUNDS
    capture = Capture(
        id=ids.resource_id(),
        order_id=order.id,
        amount=order.amount,
        status="DECLINED" if declined else "COMPLETED",
        payer=payer,
        invoice_id=order.purchase_unit.get("invoice_id"),
        custom_id=order.purchase_unit.get("custom_id"),
    )
    sandbox.store.captures[capture.id] = capture
    order.capture_ids.append(capture.id)
    order.status, order.update_time = "COMPLETED", timestamp()
    event = "PAYMENT.CAPTURE.DENIED" if declined else "PAYMENT.CAPTURE.COMPLETED"
    sandbox.webhooks.emit(event, sandbox.shapes.capture(capture, related=True), copies=sandbox.copies(faults))
    return capture


def _reply(sandbox: Sandbox, order: Order, full: bool) -> Reply:
    captures = [sandbox.store.captures[c] for c in order.capture_ids]
    return Reply(201, sandbox.shapes.order(order, captures, full=full))


def create(sandbox: Sandbox, body: dict[str, Any], faults: FiredFaults, full: bool) -> Reply:
    if body.get("intent") not in {"CAPTURE", "AUTHORIZE"}:
        raise PayPalError(400, "INVALID_PARAMETER_VALUE", "The value of a field is invalid.", "/intent")
    if body["intent"] == "AUTHORIZE":
        raise PayPalError(422, "UNSUPPORTED_INTENT", "This sandbox captures; it does not authorize.", "/intent")
    units = body.get("purchase_units")
    if not isinstance(units, list) or not units or not isinstance(units[0], dict):
        raise PayPalError(400, "MISSING_REQUIRED_PARAMETER", "A required field is missing.", "/purchase_units")
    unit = units[0]
    order = Order(ids.resource_id(), parse_amount(unit.get("amount"), "/purchase_units/0/amount"), unit, "CREATED")
    source = body.get("payment_source", {}).get("paypal")
    if isinstance(source, dict) and source.get("vault_id"):
        return _charge_vaulted(sandbox, order, str(source["vault_id"]), faults, full)
    if isinstance(source, dict):
        context = source.get("experience_context", {})
        order.return_url, order.cancel_url = context.get("return_url", ""), context.get("cancel_url", "")
        order.brand_name = context.get("brand_name", "")
        vault = source.get("attributes", {}).get("vault", {})
        order.store_in_vault = vault.get("store_in_vault") == "ON_SUCCESS"
        order.status = "PAYER_ACTION_REQUIRED"
    sandbox.store.orders[order.id] = order
    return _reply(sandbox, order, full)


def _charge_vaulted(sandbox: Sandbox, order: Order, vault_id: str, faults: FiredFaults, full: bool) -> Reply:
    token = sandbox.store.payment_tokens.get(vault_id)
    if token is None:
        raise PayPalError(
            422,
            "PAYMENT_SOURCE_CANNOT_BE_USED",
            "The vault id is unknown or was deleted.",
            "/payment_source/paypal/vault_id",
        )
    order.payer, order.vault_id = token.payer, token.id
    business = faults.business()
    if business == FaultKind.INSTRUMENT_DECLINED:
        raise PayPalError(422, "INSTRUMENT_DECLINED", "The instrument presented was declined.")
    sandbox.store.orders[order.id] = order
    if business == FaultKind.PAYER_ACTION_REQUIRED:
        order.status = "PAYER_ACTION_REQUIRED"  # the payer must come back to PayPal before this can be paid
        return _reply(sandbox, order, full)
    _capture(sandbox, order, token.payer, faults)
    return _reply(sandbox, order, full)


def capture(sandbox: Sandbox, order_id: str, faults: FiredFaults, full: bool) -> Reply:
    order = order_or_404(sandbox, order_id)
    if order.status == "COMPLETED":
        raise PayPalError(422, "ORDER_ALREADY_CAPTURED", "Order already captured.")
    if order.status != "APPROVED" or order.payer is None:
        raise PayPalError(422, "ORDER_NOT_APPROVED", "Payer has not yet approved the Order for payment.")
    business = faults.business()
    if business == FaultKind.INSTRUMENT_DECLINED:
        raise PayPalError(422, "INSTRUMENT_DECLINED", "The instrument presented was declined.")
    if business == FaultKind.PAYER_ACTION_REQUIRED:
        raise PayPalError(422, "PAYER_ACTION_REQUIRED", "The payer must take action on PayPal first.")
    if order.store_in_vault and business is None:
        token = PaymentToken(ids.payment_token_id(), order.payer)
        sandbox.store.payment_tokens[token.id] = token
        order.vault_id = token.id
        sandbox.webhooks.emit(
            "VAULT.PAYMENT-TOKEN.CREATED", sandbox.shapes.payment_token(token, order.id), copies=sandbox.copies(faults)
        )
    _capture(sandbox, order, order.payer, faults)
    return _reply(sandbox, order, full)


def capture_or_404(sandbox: Sandbox, capture_id: str) -> Capture:
    return found(sandbox.store.captures, capture_id, api_doc="payments/v2")


def refund(sandbox: Sandbox, capture_id: str, body: dict[str, Any], faults: FiredFaults, full: bool) -> Reply:
    captured = capture_or_404(sandbox, capture_id)
    if captured.status not in {"COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED"}:
        raise PayPalError(422, "REFUND_NOT_ALLOWED", "This capture cannot be refunded.")
    remaining = captured.amount.amount_minor - captured.refunded
    if remaining <= 0:
        raise PayPalError(422, "CAPTURE_FULLY_REFUNDED", "The capture has already been fully refunded.")
    amount = Money(remaining, captured.amount.currency)
    if "amount" in body:
        amount = parse_amount(body["amount"], "/amount")
        if amount.currency != captured.amount.currency:
            raise PayPalError(422, "REFUND_CAPTURE_CURRENCY_MISMATCH", "Refund must be in the capture's currency.")
        if amount.amount_minor > remaining:
            raise PayPalError(422, "REFUND_AMOUNT_EXCEEDED", "The refund amount must be less than the capture.")
    made = Refund(ids.resource_id(), captured.id, amount, body.get("note_to_payer"))
    sandbox.store.refunds[made.id] = made
    captured.refunded += amount.amount_minor
    captured.status = "REFUNDED" if captured.refunded >= captured.amount.amount_minor else "PARTIALLY_REFUNDED"
    captured.update_time = timestamp()
    sandbox.webhooks.emit("PAYMENT.CAPTURE.REFUNDED", sandbox.shapes.refund(made), copies=sandbox.copies(faults))
    return Reply(201, sandbox.shapes.refund(made, full=full))
