"""What the staff actions (piccolo-admin forms in app/admin_subscriptions.py, admin_invoices.py, admin_accounts.py)
share: the app's services as the portal has them, and refusals shown as the form's message.

Forms are not table endpoints: each checks the staff role itself (``require_action``), calls one service
function (the rules are the services', the same the portal and the worker run) and writes its own audit entry.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from litestar.stores.base import Store
from piccolo_admin.endpoints import FormConfig
from pydantic import BaseModel
from starlette.requests import Request

from app.accounts.auth import AUTH_STORE
from app.accounts.service import AccountsContext
from app.admin_audit import ActorFields, actor_fields
from app.billing import staff_actions
from app.billing.staff_actions import Done
from app.errors import DomainError
from app.jobs import JobQueue
from app.mail import OutgoingMail
from app.payments.gateway import PaymentGateway
from app.ratelimit import RateLimiter
from app.settings import Settings


@dataclass(frozen=True, slots=True)
class StaffRequest:
    """The staff member behind an action and the app's long-lived services (the admin is mounted inside the
    Litestar app, whose state holds the gateway, job queue and rate limiter the portal uses)."""

    actor: ActorFields
    settings: Settings
    gateway: PaymentGateway
    queue: JobQueue
    limiter: RateLimiter
    auth_store: Store

    @classmethod
    def of(cls, request: Request) -> StaffRequest:
        app: Any = request.scope["litestar_app"]
        state = app.state
        return cls(
            actor_fields(request), state.settings, state.gateway, state.queue, state.rate_limiter,
            app.stores.get(AUTH_STORE),
        )  # fmt: skip

    @property
    def who(self) -> str:
        """The actor recorded in event trails: ``staff:<id>``."""
        return self.actor["actor"]

    def accounts(self) -> AccountsContext:
        return AccountsContext(self.settings, self.queue, self.limiter, self.auth_store, ip=self.actor["ip"])

    async def send(self, mail: OutgoingMail) -> None:
        await self.queue.enqueue("send_email", mail.to_job())

    def means(self) -> staff_actions.Means:
        """What the billing actions (``app.billing.staff_actions``, shared with the support console) reach."""
        return staff_actions.Means(self.settings, self.gateway, self.queue)

    async def audit(self, done: Done) -> None:
        await staff_actions.record(done, **self.actor)


@contextmanager
def explained() -> Iterator[None]:
    """A service's refusal becomes the form's message (piccolo-admin shows a ValueError's text on the form)."""
    try:
        yield
    except DomainError as exc:
        raise ValueError(exc.detail) from exc


Endpoint = Callable[[Request, Any], Coroutine[None, None, str]]


def form_group(group: str, *forms: tuple[str, type[BaseModel], Endpoint, str]) -> list[FormConfig]:
    """FormConfigs of one menu group, from (name, form model, endpoint, description)."""
    return [
        FormConfig(name=name, pydantic_model=model, endpoint=endpoint, description=description, form_group=group)
        for name, model, endpoint, description in forms
    ]
