"""Staff members: piccolo BaseUsers (what piccolo-admin logs in) with a Recurra role."""

from __future__ import annotations

from dataclasses import dataclass

from piccolo.apps.user.tables import BaseUser
from piccolo_api.session_auth.tables import SessionsBase

from app.admin_permissions import role_of
from app.db import write_transaction
from app.errors import Conflict, InvalidInput
from tables.accounts import StaffRole

MIN_STAFF_PASSWORD = 12
# piccolo-admin's session cookie (piccolo_api's session_login, path /): its value is a ``sessions`` token.
ADMIN_SESSION_COOKIE = "id"


@dataclass(frozen=True, slots=True)
class StaffMember:
    user_id: int
    username: str
    role: str | None  # None: an admin user without a role, who may do nothing


async def staff_from_admin_session(token: str | None) -> StaffMember | None:
    """The staff member signed in to /admin/ with session ``token`` (the admin's cookie), or None: no token, an
    unknown or expired session, or a user who is no longer an active admin. The session exists only once the
    log-in (and its second factor) succeeded, so a page outside /admin/ can trust what the admin trusts."""
    if not token:
        return None
    user_id = await SessionsBase.get_user_id(token)
    if user_id is None:
        return None
    user = await BaseUser.objects().where(BaseUser.id == user_id).first()
    if user is None or not user.active or not user.admin:
        return None
    return StaffMember(int(user.id), str(user.username), await role_of(user))


async def create_staff(username: str, email: str, password: str, role: str = StaffRole.Role.superuser) -> BaseUser:
    """Create a staff user who can log in to /admin/. Refuses duplicates and weak passwords."""
    if role not in {r.value for r in StaffRole.Role}:
        raise InvalidInput(f"unknown role {role!r}", code="unknown_role")
    if len(password) < MIN_STAFF_PASSWORD:
        raise InvalidInput(f"the password must have at least {MIN_STAFF_PASSWORD} characters", code="weak_password")
    if await BaseUser.exists().where(BaseUser.username == username):
        raise Conflict(f"a staff user named {username!r} exists already", code="staff_exists")
    async with write_transaction():
        user = await BaseUser.create_user(
            username=username,
            password=password,
            email=email,
            admin=True,
            active=True,
            superuser=role == StaffRole.Role.superuser,
        )
        await StaffRole.insert(StaffRole(user=user.id, role=role))
    return user
