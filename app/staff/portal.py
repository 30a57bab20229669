"""The staff door: its log-in and log-out (one log-in with /admin/, see ``app.staff.login``) and the staff home."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from litestar.datastructures import Cookie
from litestar.response import Redirect, Template

from app.accounts.auth import safe_next
from app.staff.auth import LOGIN_PATH, PUBLIC, signed_in
from app.staff.login import LoginOutcome, log_in, log_out
from app.staff.pages import staff_page
from app.support.access import STAFF_SESSION_COOKIE
from app.web import AnyRequest, Form, see_other

HOME = "/staff/"


def _next(target: str | None) -> str:
    """Back to a staff page only: a log-in here never sends anybody elsewhere."""
    chosen = safe_next(target, HOME)
    return chosen if chosen.startswith("/staff") else HOME


def _login_page(values: dict[str, str], outcome: LoginOutcome | None = None) -> Template:
    context: dict[str, Any] = {
        "values": {"username": values.get("username", ""), "next": _next(values.get("next"))},
        "error": outcome.message if outcome else "",
        "ask_code": bool(outcome and outcome.ask_code),
    }
    status = outcome.status if outcome else 200
    headers = {"Retry-After": outcome.retry_after} if outcome and outcome.retry_after else None
    return Template("staff/login.html", context=context, status_code=status, headers=headers)


class StaffDoor(Controller):
    path = "/"
    include_in_schema = False
    opt = {PUBLIC: True}

    @get("/login", name="staff:login")
    async def login_form(self, request: AnyRequest) -> Template | Redirect:
        target = request.query_params.get("next", "")
        if await signed_in(request.cookies.get(STAFF_SESSION_COOKIE)):
            return see_other(_next(target))
        return _login_page({"next": target})

    @post("/login")
    async def login(self, request: AnyRequest, data: Form) -> Template | Redirect:
        outcome = await log_in(request, data.get("username", ""), data.get("password", ""), data.get("code", ""))
        if not outcome.signed_in:
            return _login_page(data, outcome)
        session = next((c.value for c in outcome.cookies if c.key == STAFF_SESSION_COOKIE), None)
        if await signed_in(session) is None:  # a piccolo user who is not (active) staff: no session kept
            await log_out(request, session)
            return _login_page(data, LoginOutcome(False, [], "This account is not a staff account.", 403))
        return see_other(_next(data.get("next")), cookies=outcome.cookies)

    @post("/logout", name="staff:logout")
    async def logout(self, request: AnyRequest) -> Redirect:
        cleared = await log_out(request, request.cookies.get(STAFF_SESSION_COOKIE))
        cleared = cleared or [Cookie(key=STAFF_SESSION_COOKIE, value="", max_age=0, path="/")]
        return see_other(LOGIN_PATH, cookies=cleared)


class StaffHome(Controller):
    path = "/"
    include_in_schema = False

    @get("/", name="staff:home")
    async def home(self, request: AnyRequest) -> Template:
        return staff_page(request, "staff/home.html", {})
