"""``python -m app.payments.sandbox --port N``: the bundled PayPal sandbox on its own."""

from __future__ import annotations

import argparse

import uvicorn

from app.payments.sandbox.app import create_sandbox_app
from app.payments.sandbox.config import DEFAULT_WEBHOOK_ID, PAYPAL_TOKEN_TTL_S, SandboxConfig
from app.settings import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m app.payments.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--public-url", help="base URL clients reach the sandbox at (default http://HOST:PORT)")
    parser.add_argument("--client-id", default=SANDBOX_CLIENT_ID)
    parser.add_argument("--client-secret", default=SANDBOX_CLIENT_SECRET)
    parser.add_argument("--webhook-url", help="where signed webhook events are POSTed (default: none sent)")
    parser.add_argument("--webhook-id", default=DEFAULT_WEBHOOK_ID)
    parser.add_argument("--token-ttl", type=int, default=PAYPAL_TOKEN_TTL_S, help="access token lifetime (s)")
    args = parser.parse_args(argv)
    config = SandboxConfig(
        public_url=args.public_url or f"http://{args.host}:{args.port}",
        clients={args.client_id: args.client_secret},
        webhook_url=args.webhook_url,
        webhook_id=args.webhook_id,
        token_ttl_s=args.token_ttl,
    )
    uvicorn.run(create_sandbox_app(config), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
