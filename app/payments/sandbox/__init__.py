"""A PayPal-compatible sandbox: the REST subset Recurra uses, an approval page, signed webhooks and fault
injection. See app/payments/sandbox/app.py; run alone with ``python -m app.payments.sandbox --port N``."""

from app.payments.sandbox.app import create_sandbox_app
from app.payments.sandbox.config import SandboxConfig

__all__ = ["SandboxConfig", "create_sandbox_app"]
