"""The staff log-in page's one job: hand the credentials to the admin's own log-in endpoint and bring back its
answer, so there is one log-in for both doors.

The form at /staff/login posts here (under the portal's CSRF protection); this posts the same JSON piccolo-admin's
log-in page posts to ``/admin/public/login/``, through the whole application in process (the same ASGI stack a
browser's request takes: the staff log-in guard's rate limits per address and per username and its audit entries,
piccolo's own limiter, the password check, the two-factor code, the session and its cookie). Nothing about a
log-in is decided twice. piccolo's double-submit CSRF check is met with a fresh token of our own: the browser's
request was checked already, by Litestar's CSRF middleware.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

from litestar import Request
from litestar.datastructures import Cookie
from litestar.types import Message

from app.support.access import STAFF_SESSION_COOKIE

ADMIN_LOGIN = "/admin/public/login/"
ADMIN_LOGOUT = "/admin/public/logout/"
PICCOLO_CSRF_COOKIE = "csrftoken"  # piccolo-admin's CSRF cookie and header (app.web names Litestar's otherwise)
PICCOLO_CSRF_HEADER = "x-csrftoken"
# What the browser's request tells the admin about the person, as the admin's own page would have sent it.
FORWARDED = (b"host", b"origin", b"referer", b"user-agent", b"accept-language")
MFA_REQUIRED = "MFA code required"


@dataclass(frozen=True, slots=True)
class AdminAnswer:
    status: int
    body: bytes
    cookies: list[Cookie] = field(default_factory=list)
    retry_after: str = ""

    @property
    def detail(self) -> str:
        """The admin's reason ({"detail": ...}, or our limiter's problem+json), else its text."""
        try:
            parsed: Any = json.loads(self.body)
        except ValueError:
            return self.body.decode("utf-8", "replace").strip()
        return str(parsed.get("detail", "")) if isinstance(parsed, dict) else ""


def _cookies(headers: list[tuple[bytes, bytes]]) -> list[Cookie]:
    """The admin's Set-Cookie headers as Litestar cookies, to pass on to the browser unchanged."""
    found = []
    for name, value in headers:
        if name.lower() != b"set-cookie":
            continue
        parsed: SimpleCookie = SimpleCookie()
        parsed.load(value.decode("latin-1"))
        for key, morsel in parsed.items():
            max_age = morsel["max-age"]
            found.append(
                Cookie(
                    key=key, value=morsel.value, path=morsel["path"] or "/", max_age=int(max_age) if max_age else None,
                    httponly=bool(morsel["httponly"]), secure=bool(morsel["secure"]),
                    samesite=(morsel["samesite"] or "lax").lower(),  # type: ignore[arg-type]
                )
            )  # fmt: skip
    return found


async def ask_admin(
    request: Request[Any, Any, Any], path: str, payload: dict[str, str], *, session: str | None = None
) -> AdminAnswer:
    """POST ``payload`` as JSON to the mounted admin at ``path``, as the browser behind ``request`` (signed in
    with the piccolo ``session`` token, if given)."""
    token = secrets.token_hex(16)
    body = json.dumps(payload).encode()
    cookies = f"{PICCOLO_CSRF_COOKIE}={token}"
    if session:
        cookies += f"; {STAFF_SESSION_COOKIE}={session}"
    headers = [(name, value) for name, value in request.scope["headers"] if name in FORWARDED]
    headers += [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"cookie", cookies.encode("latin-1")),
        (PICCOLO_CSRF_HEADER.encode(), token.encode()),
    ]
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": request.scope.get("http_version", "1.1"),
        "method": "POST",
        "scheme": request.scope.get("scheme", "http"),
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": request.scope.get("client"),
        "server": request.scope.get("server"),
        "extensions": {},
        "state": {},
    }
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    status, response_headers, chunks = 500, [], []

    async def send(message: Message) -> None:
        nonlocal status, response_headers
        if message["type"] == "http.response.start":
            status, response_headers = message["status"], list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await request.app(scope, receive, send)  # type: ignore[arg-type]
    retry_after = next((v.decode() for n, v in response_headers if n.lower() == b"retry-after"), "")
    return AdminAnswer(status, b"".join(chunks), _cookies(response_headers), retry_after)


@dataclass(frozen=True, slots=True)
class LoginOutcome:
    signed_in: bool
    cookies: list[Cookie]
    message: str = ""
    status: int = 200
    ask_code: bool = False  # the password was right; the two-factor code is missing or wrong
    retry_after: str = ""


async def log_in(request: Request[Any, Any, Any], username: str, password: str, code: str) -> LoginOutcome:
    if not username.strip() or not password:
        return LoginOutcome(False, [], "Enter your username and password.", 400)
    payload = {"username": username.strip(), "password": password}
    if code.strip():
        payload["mfa_code"] = code.strip()
    answer = await ask_admin(request, ADMIN_LOGIN, payload)
    if answer.status < 300:
        return LoginOutcome(True, answer.cookies)
    detail = answer.detail
    if answer.status == 429:
        message = detail if "Try again" in detail else "Too many log-in attempts from here. Try again in a few minutes."
        return LoginOutcome(False, [], message, 429, retry_after=answer.retry_after)
    if MFA_REQUIRED in detail:
        return LoginOutcome(False, [], "Enter the code from your authenticator app (or a recovery code).", 401, True)
    if detail == "MFA failed":
        return LoginOutcome(False, [], "That code did not work. Enter your password and a new code.", 401, True)
    if answer.status in (401, 422):
        return LoginOutcome(False, [], "The username or password is incorrect.", 401)
    return LoginOutcome(False, [], f"The log-in was refused: {detail or answer.status}.", answer.status)


async def log_out(request: Request[Any, Any, Any], session: str | None) -> list[Cookie]:
    """End the piccolo ``session`` (both doors); the cookies that clear it in the browser."""
    if not session:
        return []
    return (await ask_admin(request, ADMIN_LOGOUT, {}, session=session)).cookies
