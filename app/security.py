"""Security at the edge, around everything the app serves (portal, API, mounted admin, static files, 404s):
response headers, and client address/scheme from trusted reverse proxies only."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.settings import SANDBOX_MOUNT_PATH, Settings

# The API docs pages load their viewer from a CDN with an inline bootstrap script; nothing else may.
DOCS_PREFIX = "/schema"
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://unpkg.com; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://unpkg.com https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; img-src 'self' data: https:; frame-ancestors 'none'"
)
# piccolo-admin's single-page app sets style attributes from its components, and the bundled PayPal sandbox
# (PayPal's stand-in, not part of the portal) styles its approval page inline: both may use inline styles.
INLINE_STYLE_PREFIXES = ("/admin", SANDBOX_MOUNT_PATH)


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(settings: Settings, *, allow_inline_styles: bool = False) -> str:
    # Checkout forms post here and are redirected on to PayPal's approval page: form-action must allow it.
    paypal = origin(settings.paypal.web_url)
    form_targets = "'self'" if paypal == origin(settings.base_url) else f"'self' {paypal}"
    # The chat panel's WebSocket: CSP 3 lets 'self' match ws(s) to the same host, older browsers need it named.
    websocket = origin(settings.base_url).replace("http", "ws", 1)
    styles = "'self' 'unsafe-inline'" if allow_inline_styles else "'self'"
    return (
        f"default-src 'self'; script-src 'self'; style-src {styles}; img-src 'self' data:; "
        f"connect-src 'self' {websocket}; object-src 'none'; base-uri 'self'; form-action {form_targets}; "
        "frame-ancestors 'none'"
    )


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        common = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
            (b"x-frame-options", b"DENY"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        if settings.https:
            common.append((b"strict-transport-security", b"max-age=63072000; includeSubDomains"))
        self.common = common
        self.csp = content_security_policy(settings).encode()
        self.admin_csp = content_security_policy(settings, allow_inline_styles=True).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path.startswith(DOCS_PREFIX):
            csp = DOCS_CSP.encode()
        elif path.startswith(INLINE_STYLE_PREFIXES):
            csp = self.admin_csp
        else:
            csp = self.csp

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                # A response that set its own policy (the dev mail viewer's sandbox) keeps it.
                headers += [(name, value) for name, value in self.common if name not in present]
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", csp))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class TrustedProxyMiddleware:
    """Honour X-Forwarded-For/Proto only when the direct peer is a configured proxy; then the client is the
    right-most address that is not itself a trusted proxy."""

    def __init__(self, app: ASGIApp, trusted: tuple[str, ...]) -> None:
        self.app = app
        self.networks = [ipaddress.ip_network(p, strict=False) for p in trusted]

    def _trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in (ScopeType.HTTP, ScopeType.WEBSOCKET) and self.networks:
            peer = scope.get("client")
            if peer and self._trusted(peer[0]):
                headers = dict(scope["headers"])
                forwarded = headers.get(b"x-forwarded-for", b"").decode("latin-1")
                hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
                client = next((hop for hop in reversed(hops) if not self._trusted(hop)), None)
                if client:
                    scope["client"] = (client, 0)
                proto = headers.get(b"x-forwarded-proto", b"").decode("latin-1").strip().lower()
                if proto in {"http", "https"}:
                    scope["scheme"] = (
                        proto if scope["type"] == ScopeType.HTTP else ("wss" if proto == "https" else "ws")
                    )
        await self.app(scope, receive, send)
