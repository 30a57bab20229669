"""The buyer's side: approval pages that look like a payment provider's, redirecting back to the merchant with
PayPal's query parameters (``token`` and ``PayerID`` for orders; ``approval_token_id`` for vault set-ups)."""

from __future__ import annotations

import html
from string import Template
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from litestar import MediaType, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromQuery
from litestar.response import Redirect

from app.payments.sandbox.core import sandbox_of

DEFAULT_PAYER = "buyer@example.com"
PAGE = Template("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title - PayPal Sandbox</title>
<style>
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",sans-serif;background:#f5f7fa;color:#2c2e2f}
header{background:#003087;color:#fff;padding:14px 20px;font-weight:700;font-size:20px}
header span{color:#009cde}
main{max-width:420px;margin:32px auto;background:#fff;border-radius:12px;padding:28px;
box-shadow:0 2px 12px rgba(0,0,0,.08)}
h1{font-size:20px;margin:0 0 6px}.merchant{color:#6c7378;margin:0 0 20px}
.amount{font-size:32px;font-weight:700;margin:0 0 20px}
label{display:block;font-size:14px;margin-bottom:6px}
input[type=email]{width:100%;box-sizing:border-box;padding:12px;border:1px solid #9da3a6;border-radius:6px;
font-size:16px}
button{width:100%;padding:13px;border-radius:24px;border:0;font-size:16px;font-weight:700;margin-top:14px;cursor:pointer}
.approve{background:#0070ba;color:#fff}.cancel{background:#fff;color:#0070ba;border:1px solid #0070ba}
.note{font-size:12px;color:#6c7378;margin-top:20px}
</style></head>
<body><header>Pay<span>Pal</span> Sandbox</header>
<main>
<h1>$title</h1><p class="merchant">$merchant</p>
$amount_html
<form method="post" action="$action">
<input type="hidden" name="id" value="$token">
<label for="email">Email</label>
<input id="email" type="email" name="email" value="$payer" required autocomplete="email">
<button class="approve" type="submit" name="decision" value="approve">$approve_label</button>
<button class="cancel" type="submit" name="decision" value="cancel" formnovalidate>
Cancel and return to $merchant</button>
</form>
<p class="note">Recurra's bundled PayPal sandbox: no real money moves. Use buyer+instrument_declined@example.com,
buyer+insufficient_funds@example.com or buyer+payer_action_required@example.com to see a refusal.</p>
</main></body></html>
""")


def with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = urlencode([*parse_qsl(parts.query), *params.items()])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _page(title: str, merchant: str, amount: str, action: str, token: str, approve_label: str) -> Response[str]:
    amount_html = f'<p class="amount">{html.escape(amount)}</p>' if amount else ""
    body = PAGE.substitute(
        title=html.escape(title),
        merchant=html.escape(merchant),
        amount_html=amount_html,
        action=html.escape(action),
        token=html.escape(token),
        payer=DEFAULT_PAYER,
        approve_label=html.escape(approve_label),
    )
    return Response(body, media_type=MediaType.HTML)


def _not_found() -> Response[str]:
    return Response(
        "<h1>This PayPal link has expired or does not exist.</h1>", status_code=404, media_type=MediaType.HTML
    )


@get("/checkoutnow")
async def order_page(request: Request[Any, Any, State], token: FromQuery[str] = "") -> Response[str]:
    sandbox = sandbox_of(request)
    order = sandbox.store.orders.get(token)
    if order is None or order.status not in {"CREATED", "PAYER_ACTION_REQUIRED", "APPROVED"}:
        return _not_found()
    merchant = order.brand_name or sandbox.config.brand_name
    amount = f"{order.amount.to_decimal_string()} {order.amount.currency}"
    return _page("Pay with PayPal", merchant, amount, "checkoutnow", order.id, "Approve and pay")


@post("/checkoutnow")
async def order_decision(request: Request[Any, Any, State]) -> Response[Any]:
    sandbox = sandbox_of(request)
    form = await request.form()
    order = sandbox.store.orders.get(str(form.get("id", "")))
    if order is None:
        return _not_found()
    if form.get("decision") != "approve":
        return Redirect(with_query(order.cancel_url or "about:blank", token=order.id), status_code=303)
    if order.status in {"CREATED", "PAYER_ACTION_REQUIRED"}:
        order.payer = order.payer or sandbox.store.payer(str(form.get("email") or DEFAULT_PAYER))
        order.status = "APPROVED"
    payer_id = order.payer.payer_id if order.payer else ""
    return Redirect(with_query(order.return_url or "about:blank", token=order.id, PayerID=payer_id), status_code=303)


@get("/agreements/approve")
async def vault_page(request: Request[Any, Any, State], approval_session_id: FromQuery[str] = "") -> Response[str]:
    sandbox = sandbox_of(request)
    token = sandbox.store.setup_tokens.get(approval_session_id)
    if token is None or token.status != "PAYER_ACTION_REQUIRED":
        return _not_found()
    merchant = token.brand_name or sandbox.config.brand_name
    return _page(
        f"Save PayPal for {merchant}", merchant, "", "approve", token.id, "Agree and continue"
    )  # relative: /agreements/approve


@post("/agreements/approve")
async def vault_decision(request: Request[Any, Any, State]) -> Response[Any]:
    sandbox = sandbox_of(request)
    form = await request.form()
    token = sandbox.store.setup_tokens.get(str(form.get("id", "")))
    if token is None:
        return _not_found()
    params = {"approval_token_id": token.id, "approval_session_id": token.id}
    if form.get("decision") != "approve":
        return Redirect(with_query(token.cancel_url or "about:blank", **params), status_code=303)
    if token.status == "PAYER_ACTION_REQUIRED":
        token.payer = sandbox.store.payer(str(form.get("email") or DEFAULT_PAYER))
        token.status = "APPROVED"
    return Redirect(with_query(token.return_url or "about:blank", **params), status_code=303)


ROUTES = [order_page, order_decision, vault_page, vault_decision]
