"""Drive portal pages the way a browser would: fetch the form (and its CSRF token), then post it."""

from __future__ import annotations

import re
from datetime import datetime
from email.message import EmailMessage

import httpx
import pyotp

from app import clock
from tables.accounts import Customer
from tests.smtp import Mailbox

CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')
PASSWORD = "correct horse battery staple"


def csrf_token(html: str) -> str:
    match = CSRF_FIELD.search(html)
    assert match, "the page has no CSRF field"
    return match.group(1)


async def submit(
    client: httpx.AsyncClient, form_page: str, action: str, data: dict[str, str] | None = None
) -> httpx.Response:
    """GET ``form_page``, then POST ``data`` with its CSRF token to ``action``."""
    page = await client.get(form_page)
    return await client.post(action, data={"_csrf_token": csrf_token(page.text), **(data or {})})


def totp_code(secret: str, at: datetime | None = None) -> str:
    """The code an authenticator app shows at ``at`` (default now on app.clock, as the server reads it: a run on
    a chosen day included)."""
    return pyotp.TOTP(secret).at(int((at or clock.now()).timestamp()))


def link_in(message: EmailMessage, path: str) -> str:
    """The URL path+query of the first link to ``path`` in the mail's text part."""
    match = re.search(rf"https?://[^/\s]+({re.escape(path)}[^\s]*)", Mailbox.text(message))
    assert match, f"no {path} link in:\n{Mailbox.text(message)}"
    return match.group(1)


async def register(
    client: httpx.AsyncClient, email: str = "ada@example.com", password: str = PASSWORD, name: str = "Ada Lovelace"
) -> httpx.Response:
    return await submit(
        client, "/register", "/register", {"email": email, "password": password, "name": name, "country": "GB"}
    )


async def sign_up(client: httpx.AsyncClient, email: str = "ada@example.com", *, verified: bool = True) -> Customer:
    """A customer registered (and so logged in) on ``client``; ``verified``: with a confirmed e-mail address."""
    response = await register(client, email=email)
    assert response.status_code == 303, response.text
    if verified:
        await Customer.update({Customer.email_verified_at: clock.now()}).where(Customer.email == email)
    return await Customer.objects().get(Customer.email == email)


async def log_in(
    client: httpx.AsyncClient, email: str = "ada@example.com", password: str = PASSWORD, **extra: str
) -> httpx.Response:
    return await submit(client, "/login", "/login", {"email": email, "password": password, **extra})


def set_cookie(response: httpx.Response, name: str) -> str:
    """The Set-Cookie header the response sent for cookie ``name``."""
    headers = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    assert headers, f"no Set-Cookie for {name}"
    return headers[0]
