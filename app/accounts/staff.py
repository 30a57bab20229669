"""Staff members: piccolo BaseUsers (what piccolo-admin logs in) with a Recurra role."""

from __future__ import annotations

from piccolo.apps.user.tables import BaseUser

from app.db import write_transaction
from app.errors import Conflict, InvalidInput
from tables.accounts import StaffRole

MIN_STAFF_PASSWORD = 12


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
