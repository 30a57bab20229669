"""The role table itself: what each role may do, and the limits that bind superusers too."""

from __future__ import annotations

import pytest

from app.admin_permissions import (
    MONEY_AND_LIFECYCLE,
    ROLE_GRANTS,
    TABLE_LIMITS,
    Action,
    StaffAction,
    action_for,
    allowed,
    may,
    refused_columns,
)
from tables.accounts import Customer, StaffRole
from tables.audit import AuditLog
from tables.billing import Invoice, InvoiceLine
from tables.catalog import Plan
from tables.content import ContentItem
from tables.partners import ApiKey, Partner
from tables.payments import Payment
from tables.support import KnowledgeBaseArticle, Ticket, TicketEvent, TicketMessage

WRITES = [Action.create, Action.update, Action.delete]


@pytest.mark.parametrize(
    ("role", "table", "read", "write"),
    [
        ("support", KnowledgeBaseArticle, True, True),
        ("support", Customer, True, False),
        ("support", Plan, False, False),
        ("billing", Plan, True, True),
        ("billing", Invoice, True, False),
        ("billing", Payment, True, False),
        ("billing", InvoiceLine, True, True),
        ("billing", Ticket, False, False),
        ("content", ContentItem, True, True),
        ("content", Plan, True, False),
        ("content", Invoice, False, False),
        ("superuser", Partner, True, True),
        ("superuser", StaffRole, True, True),
        ("superuser", Invoice, True, False),
        (None, Customer, False, False),
        ("someone-else", Customer, False, False),
    ],
)
def test_roles(role: str | None, table: type, read: bool, write: bool) -> None:
    assert allowed(role, table, Action.read) is read
    assert [allowed(role, table, a) for a in WRITES] == [write] * 3


@pytest.mark.parametrize("role", [*StaffRole.Role, None])
def test_logs_are_read_only_for_everyone(role: str | None) -> None:
    for table, actions in TABLE_LIMITS.items():
        for action in WRITES:
            if action not in actions:
                assert not allowed(role, table, action), (role, table, action)
    assert not allowed(role, AuditLog, Action.update)


@pytest.mark.parametrize("role", ["support", "superuser"])
def test_tickets_change_through_the_support_service_not_the_table(role: str) -> None:
    assert allowed(role, Ticket, Action.read) and allowed(role, Ticket, Action.update)  # subject, category
    assert not allowed(role, Ticket, Action.create) and not allowed(role, Ticket, Action.delete)
    for table in (TicketMessage, TicketEvent):
        assert allowed(role, table, Action.read)
        assert not any(allowed(role, table, action) for action in WRITES)


def test_api_keys_are_never_created_or_deleted_through_the_table() -> None:
    assert allowed("superuser", ApiKey, Action.update)
    assert not allowed("superuser", ApiKey, Action.create)
    assert not allowed("superuser", ApiKey, Action.delete)


def test_every_role_but_superuser_has_a_grant() -> None:
    assert set(ROLE_GRANTS) == set(StaffRole.Role) - {StaffRole.Role.superuser}


def test_methods_map_to_actions() -> None:
    assert [action_for(m) for m in ("GET", "POST", "PATCH", "PUT", "DELETE", "BREW")] == [
        Action.read, Action.create, Action.update, Action.update, Action.delete, Action.update
    ]  # fmt: skip


@pytest.mark.parametrize("role", [*StaffRole.Role, None])
def test_money_and_lifecycle_rows_are_read_only_for_everyone(role: str | None) -> None:
    for table in MONEY_AND_LIFECYCLE:
        assert [allowed(role, table, a) for a in WRITES] == [False] * 3, table


def test_column_rules_plan_prices_are_fixed_draft_lines_stay_on_their_invoice() -> None:
    assert refused_columns(Plan, {"name", "amount_minor", "interval"}) == ["amount_minor", "interval"]
    assert refused_columns(Plan, {"name", "trial_days", "public"}) == []
    assert refused_columns(InvoiceLine, {"description", "amount_minor"}) == []
    assert refused_columns(InvoiceLine, {"description", "invoice"}) == ["invoice"]


@pytest.mark.parametrize(
    ("role", "actions"),
    [
        ("superuser", set(StaffAction)),
        ("billing", set(StaffAction) - {StaffAction.accounts}),
        ("support", {StaffAction.receipts, StaffAction.accounts}),
        ("content", set()),
        (None, set()),
    ],
)
def test_who_runs_which_staff_actions(role: str | None, actions: set[StaffAction]) -> None:
    assert {action for action in StaffAction if may(role, action)} == actions
