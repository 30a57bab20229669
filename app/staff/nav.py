"""The staff area's navigation, in one place: each page of /staff/ that belongs in the menu is one line here,
with the table its work is about (the menu shows it to roles that may read that table, the rule its pages are
guarded by: ``app.staff.auth.works_on``). None: every staff member."""

from __future__ import annotations

from dataclasses import dataclass

from piccolo.table import Table

from app.staff.auth import StaffMember
from tables.support import BillingActionRequest, Ticket


@dataclass(frozen=True, slots=True)
class NavItem:
    label: str
    path: str
    table: type[Table] | None = None


NAV: list[NavItem] = [
    NavItem("Home", "/staff/"),
    NavItem("Support queue", "/staff/support", Ticket),
    NavItem("Live chats", "/staff/support/chats", Ticket),
    NavItem("Satisfaction", "/staff/support/satisfaction", Ticket),
    NavItem("Billing requests", "/staff/billing/requests", BillingActionRequest),
]


def nav_for(member: StaffMember) -> list[NavItem]:
    return [item for item in NAV if item.table is None or member.may(item.table)]
