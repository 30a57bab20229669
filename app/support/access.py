"""Who may see a ticket: its owner, and staff whose role works tickets (support and superuser).

Staff sign in once, at /admin/ (piccolo-admin's session cookie ``id``, path ``/``), and the same session opens
staff pages elsewhere: ``support_staff`` reads it for the portal's attachment downloads now and for the staff
support console later. Which roles work tickets is the admin's role table (``app.admin_permissions``): a role
that may read the Ticket table may work tickets, so there is one rule for both doors.
"""

from __future__ import annotations

from dataclasses import dataclass

from piccolo.apps.user.tables import BaseUser
from piccolo_api.session_auth.tables import SessionsBase

from app.admin_permissions import Action, allowed, role_of
from tables.support import Ticket

STAFF_SESSION_COOKIE = "id"  # piccolo_api's session cookie, as piccolo-admin sets it


@dataclass(frozen=True, slots=True)
class SupportStaff:
    user_id: int
    username: str
    role: str


async def works_tickets(user: BaseUser) -> SupportStaff | None:
    """The staff member, if they are active staff whose role may work tickets; else None."""
    if not (user.active and user.admin):
        return None
    role = await role_of(user)
    if not allowed(role, Ticket, Action.read):
        return None
    return SupportStaff(user_id=int(user.id), username=str(user.username), role=str(role))


async def support_staff(session_token: str | None) -> SupportStaff | None:
    """The support staff member signed in with this piccolo session token (the ``id`` cookie), or None."""
    if not session_token:
        return None
    user_id = await SessionsBase.get_user_id(session_token)
    if user_id is None:
        return None
    user = await BaseUser.objects().get(BaseUser.id == user_id)
    return await works_tickets(user) if user is not None else None


async def staff_by_id(user_id: int) -> SupportStaff | None:
    user = await BaseUser.objects().get(BaseUser.id == user_id)
    return await works_tickets(user) if user is not None else None


async def staff_by_username(username: str) -> SupportStaff | None:
    user = await BaseUser.objects().get(BaseUser.username == username.strip())
    return await works_tickets(user) if user is not None else None


async def support_team() -> list[SupportStaff]:
    """Every active staff member who may work tickets, by username: whom the console offers to assign to."""
    users = (
        await BaseUser.objects().where(BaseUser.active.eq(True), BaseUser.admin.eq(True)).order_by(BaseUser.username)
    )
    team = [await works_tickets(user) for user in users]
    return [member for member in team if member is not None]
