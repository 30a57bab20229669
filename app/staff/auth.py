"""Who is at the staff door (/staff/): the staff member behind piccolo-admin's session cookie, and what their
role lets them do there.

Both doors share one log-in: staff sign in once (at /admin/ or at /staff/login, which hands the credentials to
the admin's own log-in endpoint: ``app.staff.login``) and the piccolo session (cookie ``id``, path ``/``) opens
both; logging out of either ends it for both. Roles are the admin's (``app.admin_permissions``), with one rule
for both doors: a staff page names the table its work is about, and a role that may read that table may open
the page, a role that may update it may post there (a console form changes what exists; nothing here creates
or deletes rows the way the admin's POST and DELETE do).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.response import Redirect
from litestar.types import Guard
from piccolo.apps.user.tables import BaseUser
from piccolo.table import Table
from piccolo_api.session_auth.tables import SessionsBase

from app.admin_permissions import Action, allowed, role_of
from app.errors import NotAuthenticated, PermissionDenied
from app.support.access import STAFF_SESSION_COOKIE
from app.support.agent import Agent

# piccolo-admin's own default: a session in use is extended by this much when it gets close to expiring (never
# past its maximum of 7 days), so an hour of work in the console does not end the session under the agent's feet.
SESSION_EXTENSION = timedelta(minutes=20)
LOGIN_PATH = "/staff/login"
PUBLIC = "staff_public"  # route opt: a page of the staff door open to everybody (the log-in page)
READS = frozenset({"GET", "HEAD", "OPTIONS"})


def action_of(method: str) -> Action:
    return Action.read if method.upper() in READS else Action.update


@dataclass(frozen=True, slots=True)
class StaffMember:
    user_id: int
    username: str
    role: str | None  # None: an admin user without a role, who may do nothing

    def may(self, table: type[Table], action: Action = Action.read) -> bool:
        return allowed(self.role, table, action)


class StaffLoginRequired(NotAuthenticated):
    code = "staff_login_required"


async def signed_in(session_token: str | None) -> StaffMember | None:
    """The active staff member signed in with this piccolo session token; None for no, an expired or a
    customer's session, and for a user who is not (or no longer) active staff."""
    if not session_token:
        return None
    user_id = await SessionsBase.get_user_id(session_token, increase_expiry=SESSION_EXTENSION)
    user = await BaseUser.objects().get(BaseUser.id == user_id) if user_id is not None else None
    if user is None or not (user.active and user.admin):
        return None
    return StaffMember(int(user.id), str(user.username), await role_of(user))


def staff_of(connection: ASGIConnection[Any, Any, Any, Any]) -> StaffMember:
    """The staff member the staff guard let in (every non-public /staff page has one)."""
    member: StaffMember = connection.state.staff
    return member


def acting(connection: ASGIConnection[Any, Any, Any, Any]) -> Agent:
    """The staff member behind this request as the changes they make record them (event trails, audit log)."""
    member = staff_of(connection)
    return Agent(member.user_id, member.username, connection.client.host if connection.client else "")


async def staff_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Every /staff page: signed-in staff with a role, else the log-in page (no session) or 403 (no role)."""
    if handler.opt.get(PUBLIC):
        return
    member = await signed_in(connection.cookies.get(STAFF_SESSION_COOKIE))
    if member is None:
        raise StaffLoginRequired("Sign in as staff to continue.")
    if member.role is None:
        raise PermissionDenied("Your staff account has no role yet: a superuser gives it one.")
    connection.state.staff = member


def works_on(table: type[Table]) -> Guard:
    """A controller's pages are about ``table``: reading them needs the role to read it, posting to update it."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
        member = staff_of(connection)
        action = action_of(str(connection.scope.get("method", "GET")))
        if not member.may(table, action):
            raise PermissionDenied(f"Your role ({member.role}) may not {action} {table._meta.tablename} records.")

    return guard


def to_login(request: Request[Any, Any, Any], exc: StaffLoginRequired) -> Response[Any]:
    """Not signed in: to the staff log-in page, and back here afterwards (htmx: the whole page goes)."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    target = f"{LOGIN_PATH}?{urlencode({'next': here if request.method == 'GET' else '/staff/'})}"
    if request.headers.get("hx-request"):
        return Response(content=None, status_code=200, headers={"HX-Redirect": target})
    return Redirect(target, status_code=303)
