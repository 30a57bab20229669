"""Staff log-ins to /admin/: audited, and limited per address and per username with the shared limiter.

piccolo-admin's own log-in endpoint has no hooks, and its limiter counts in one process only, so this ASGI
layer sits in front of it: it reads the posted username, refuses with 429 while a limit is exhausted, lets the
request through, and records the outcome from the response status.
"""

from __future__ import annotations

import json
from typing import Any

from litestar import Response
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send
from piccolo.apps.user.tables import BaseUser

from app.audit.service import actor_for_staff, record_audit
from app.ratelimit import RateLimiter

LOGIN_PATH = "/public/login"
FAILURES_PER_ADDRESS = (20, 900)
FAILURES_PER_USERNAME = (5, 900)


def _limits(ip: str, username: str) -> list[tuple[str, tuple[int, int]]]:
    return [
        (f"staff-login:ip:{ip}", FAILURES_PER_ADDRESS),
        (f"staff-login:user:{username.lower()}", FAILURES_PER_USERNAME),
    ]


async def _refuse(scope: Scope, receive: Receive, send: Send, retry_after_s: int) -> None:
    problem = {
        "type": "urn:recurra:problem:rate_limited",
        "title": "Too Many Requests",
        "status": 429,
        "code": "rate_limited",
        "detail": f"Too many failed log-ins. Try again in {max(1, -(-retry_after_s // 60))} minutes.",
    }
    response = Response(
        content=problem,
        status_code=429,
        media_type="application/problem+json",
        headers={"Retry-After": str(retry_after_s)},
    )
    await response.to_asgi_response(app=None, request=None)(scope, receive, send)  # type: ignore[arg-type]


class StaffLoginGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope.get("method") != "POST" or scope["path"].rstrip("/") != LOGIN_PATH:
            await self.app(scope, receive, send)
            return
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before sending its log-in
            body += message["body"]
            more = message.get("more_body", False)
        try:
            posted: Any = json.loads(body or b"{}")
            username = str(posted.get("username", ""))[:150] if isinstance(posted, dict) else ""
        except ValueError:
            username = ""
        client = scope.get("client")
        ip = client[0] if client else ""
        limiter: RateLimiter = scope["litestar_app"].state.rate_limiter
        for key, (limit, window) in _limits(ip, username):
            decision = await limiter.peek(key, limit, window)
            if not decision.allowed:
                await record_audit("staff.login_rate_limited", actor="anonymous", actor_label=username, ip=ip)
                await _refuse(scope, receive, send, decision.retry_after_s)
                return

        replayed = False

        async def replay() -> ReceiveMessage:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        status = 500
        answer = b""

        async def watch(message: Message) -> None:
            nonlocal status, answer
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and status >= 400:
                answer += message.get("body", b"")[:512]
            await send(message)

        await self.app(scope, replay, watch)
        if status < 300:
            user = await BaseUser.objects().get(BaseUser.username == username)
            await record_audit(
                "staff.logged_in",
                actor=actor_for_staff(user.id) if user else "anonymous",
                actor_label=username,
                target_type="staff",
                target_id=user.id if user else "",
                ip=ip,
            )
            await limiter.reset(_limits(ip, username)[1][0], FAILURES_PER_USERNAME[1])
        # A 401 that asks for the MFA code means the password was right: that is no failure.
        elif status in (400, 401, 403) and b"MFA code required" not in answer:
            for key, (limit, window) in _limits(ip, username):
                await limiter.hit(key, limit, window)
            await record_audit("staff.login_failed", actor="anonymous", actor_label=username, ip=ip)
