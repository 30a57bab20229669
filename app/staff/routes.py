"""The staff area's routes under /staff, behind the staff guard (signed-in staff with a role; the log-in page
is the one public page). A new console page is a controller added here and a line in ``app.staff.nav``."""

from __future__ import annotations

from litestar import Router

from app.staff.auth import StaffLoginRequired, staff_guard, to_login
from app.staff.billing import BillingRequests
from app.staff.chats import AgentChats
from app.staff.portal import StaffDoor, StaffHome
from app.staff.support import SupportConsole


def staff_router() -> Router:
    return Router(
        path="/staff",
        route_handlers=[StaffDoor, StaffHome, SupportConsole, AgentChats, BillingRequests],
        guards=[staff_guard],
        exception_handlers={StaffLoginRequired: to_login},
        include_in_schema=False,
    )
