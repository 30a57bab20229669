"""Who may do what in the admin: the staff roles as data, enforced on every table endpoint and every staff
action (form).

piccolo-admin lists every table to every staff member, so the menu is not the control: each table's
PiccoloCRUD gets a validator that maps the HTTP method to an action and refuses it (403) unless the caller's
role grants it. Reads (list, detail, ids, count, schema, references, the blank "new" row) are ``read``.

Money and lifecycle rows (subscriptions, invoices, payments, refunds, credit notes, payment methods, the
event trails and the outbox) are read-only in the table views for everyone, superusers included: staff change
them only through the staff actions (``StaffAction``), which call the services the portal and the worker use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from piccolo.apps.user.tables import BaseUser
from piccolo.table import Table
from piccolo_api.crud.validators import Validators
from starlette.exceptions import HTTPException
from starlette.requests import Request

from tables.accounts import Customer, StaffRole
from tables.audit import AuditLog
from tables.billing import CreditNote, Invoice, InvoiceEvent, InvoiceLine
from tables.catalog import Feature, Plan, PlanFeature, Product
from tables.clocks import TestClock
from tables.content import ContentChange, ContentItem, ContentItemFeature, ContentItemTag, Tag
from tables.outbox import OutboxEvent
from tables.partners import ApiKey
from tables.payments import Payment, PaymentEvent, PaymentMethod, Refund, WebhookEvent
from tables.subscriptions import Subscription, SubscriptionEvent
from tables.support import (
    BillingActionRequest,
    CannedReply,
    Chat,
    ChatEvent,
    HelpCategory,
    HelpDeflection,
    KnowledgeBaseArticle,
    Ticket,
    TicketAttachment,
    TicketEvent,
    TicketMessage,
    TicketRating,
)
from tables.views import HelpArticleRating

Role = StaffRole.Role


class Action(StrEnum):
    read = "read"
    create = "create"
    update = "update"
    delete = "delete"


ALL_ACTIONS = frozenset(Action)
READ_ONLY = frozenset({Action.read})
_ACTION_BY_METHOD = {
    "GET": Action.read,
    "HEAD": Action.read,
    "OPTIONS": Action.read,
    "POST": Action.create,
    "PUT": Action.update,
    "PATCH": Action.update,
    "DELETE": Action.delete,
}


@dataclass(frozen=True)
class Grant:
    write: frozenset[type[Table]] = field(default_factory=frozenset)
    read: frozenset[type[Table]] = field(default_factory=frozenset)


# What each role may touch beyond nothing. A superuser may touch every table (within TABLE_LIMITS).
ROLE_GRANTS: dict[str, Grant] = {
    Role.billing: Grant(
        # Invoice lines: of drafts only (app.admin_billing's guard); plans: not their price (FIXED_COLUMNS);
        # billing action requests: decided in the staff console (/staff/billing/requests).
        write=frozenset({Plan, PlanFeature, InvoiceLine, BillingActionRequest}),
        read=frozenset(
            {
                Customer,
                Product,
                Feature,
                TestClock,
                Subscription,
                SubscriptionEvent,
                Invoice,
                InvoiceEvent,
                CreditNote,
                Payment,
                PaymentEvent,
                Refund,
                PaymentMethod,
            }
        ),
    ),
    Role.support: Grant(
        write=frozenset({Ticket, KnowledgeBaseArticle, HelpCategory, CannedReply}),
        # Staff users: tickets are assigned to them (the ticket form lists them; passwords stay secret).
        read=frozenset(
            {
                Customer,
                Subscription,
                BaseUser,
                TicketMessage,
                TicketEvent,
                TicketAttachment,
                HelpDeflection,
                HelpArticleRating,
                Chat,
                ChatEvent,
                TicketRating,
            }
        ),
    ),
    Role.content: Grant(
        write=frozenset({Product, Feature, ContentItem, ContentItemFeature, Tag, ContentItemTag}),
        read=frozenset({Plan, PlanFeature, ContentChange}),
    ),
}

# Limits that hold for everyone, superusers included. Logs and event trails are evidence: no one edits
# or deletes them through the admin. Money and lifecycle rows change only through the services, which write
# their events, outbox rows, audit entries and mails (the staff actions call them): a row typed in by hand
# would be money that never moved (a "succeeded" payment), a number that blocks the real series, or a
# subscription the billing run never decided. The outbox is among them: a forged ``payment.succeeded`` would
# settle an invoice. API keys are created only by the "Issue API key" form (which shows the key once) and are
# revoked, not deleted, so their history stays.
MONEY_AND_LIFECYCLE: tuple[type[Table], ...] = (
    Subscription,
    Invoice,
    CreditNote,
    Payment,
    Refund,
    PaymentMethod,
    SubscriptionEvent,
    InvoiceEvent,
    PaymentEvent,
    WebhookEvent,
    OutboxEvent,
)
TABLE_LIMITS: dict[type[Table], frozenset[Action]] = {
    **dict.fromkeys(MONEY_AND_LIFECYCLE, READ_ONLY),
    AuditLog: READ_ONLY,
    # A clock's time moves only forward and only by the "Advance" action, which runs what falls due on the way.
    TestClock: READ_ONLY,
    ContentChange: READ_ONLY,
    # A ticket's thread and history change only through the support service (the "Reply to ticket" and "Update
    # ticket" forms, later the staff console): mail, events and the outbox follow from there. Tickets are
    # opened by customers (web, e-mail), never created or deleted in the admin.
    TicketMessage: READ_ONLY,
    TicketEvent: READ_ONLY,
    TicketAttachment: READ_ONLY,
    HelpDeflection: READ_ONLY,
    Chat: READ_ONLY,  # chats move through app.support.chat (take, end), their lines are the ticket's messages
    ChatEvent: READ_ONLY,
    TicketRating: READ_ONLY,  # the customers' own words (app.support.csat)
    Ticket: frozenset({Action.read, Action.update}),
    # Requested from a ticket, approved or rejected in the staff console (app.support.ticket_billing), which
    # runs the action: never created, edited or deleted as a row (the table is not among the admin's views).
    BillingActionRequest: frozenset({Action.read, Action.update}),
    HelpArticleRating: READ_ONLY,  # a view: counted from the votes
    ApiKey: frozenset({Action.read, Action.update}),
    # piccolo_api creates users through BaseUser.create_user, which runs no hooks (so no audit entry) and
    # gives no role: staff are created with `python -m app create-staff --role ...` instead.
    BaseUser: frozenset({Action.read, Action.update, Action.delete}),
}

# Columns a PATCH may change where not every column may (checked by the audit hook before writing). A draft
# invoice's lines stay editable (the guard in app.admin_billing refuses lines of finalized invoices), but never
# moved to another invoice.
EDITABLE_COLUMNS: dict[type[Table], frozenset[str]] = {
    ApiKey: frozenset({"name", "expires_at", "revoked_at"}),
    Ticket: frozenset({"subject", "category"}),  # status, assignee, priority: the support forms
    BillingActionRequest: frozenset(),  # decided only through the console (app.support.ticket_billing)
    InvoiceLine: frozenset(
        {"kind", "description", "plan", "quantity", "unit_amount_minor", "amount_minor", "period_start", "period_end"}
    ),
}
# Columns no PATCH may change where the others may. A plan's price is what its subscribers signed up for: a new
# price is a new plan (a new plan version), never an edit (DESIGN.md section 3).
FIXED_COLUMNS: dict[type[Table], frozenset[str]] = {
    Plan: frozenset({"amount_minor", "currency", "interval", "interval_count"}),
}


def refused_columns(table: type[Table], changed: set[str]) -> list[str]:
    """The columns among ``changed`` that the admin's table views may not change on ``table``."""
    editable = EDITABLE_COLUMNS.get(table)
    refused = changed - editable if editable is not None else set()
    return sorted(refused | (changed & FIXED_COLUMNS.get(table, frozenset())))


def allowed(role: str | None, table: type[Table], action: Action) -> bool:
    """Whether a staff member with ``role`` (None: no role) may perform ``action`` on ``table``."""
    if action not in TABLE_LIMITS.get(table, ALL_ACTIONS):
        return False
    if role == Role.superuser:
        return True
    grant = ROLE_GRANTS.get(role or "")
    if grant is None:
        return False
    if table in grant.write:
        return True
    return action == Action.read and table in grant.read


async def role_of(user: BaseUser) -> str | None:
    """The staff member's role: their StaffRole row; a piccolo superuser without one counts as superuser
    (e.g. made with ``piccolo user create``); an admin user with neither has no role and may do nothing."""
    role = await StaffRole.select(StaffRole.role).where(StaffRole.user == user.id).first()
    if role is not None:
        return str(role["role"])
    return Role.superuser if user.superuser else None


def action_for(method: str) -> Action:
    return _ACTION_BY_METHOD.get(method.upper(), Action.update)  # unknown verbs count as writes


async def require(request: Request, table: type[Table], action: Action) -> None:
    """Raise 403 unless the logged-in staff member may perform ``action`` on ``table``."""
    role = await role_of(request.user.user)
    if not allowed(role, table, action):
        raise HTTPException(
            status_code=403,
            detail=f"Your role ({role or 'none'}) may not {action} {table._meta.tablename} records.",
        )


class StaffAction(StrEnum):
    """What the staff actions (the admin's forms) do, grouped by who may do it."""

    subscriptions = "change subscriptions"  # cancel, keep, pause/resume, change plan, extend a trial
    money = "collect, refund or correct invoices"  # retry a payment, void, write off, credit, refund
    receipts = "resend receipts"
    accounts = "help customers into their accounts"  # verification mail, password-reset link, reset 2FA
    prices = "change prices"  # new price, move subscribers to it
    test_clocks = "run test clocks"  # create, add test customers, advance, delete


# Which roles may run which staff actions (superusers: all). Billing staff move money and change
# subscriptions; support helps customers into their accounts and resends what they lost. Both resend receipts.
ACTION_GRANTS: dict[str, frozenset[StaffAction]] = {
    Role.billing: frozenset(
        {
            StaffAction.subscriptions,
            StaffAction.money,
            StaffAction.receipts,
            StaffAction.prices,
            StaffAction.test_clocks,
        }
    ),
    Role.support: frozenset({StaffAction.receipts, StaffAction.accounts}),
    Role.content: frozenset(),
}


def may(role: str | None, action: StaffAction) -> bool:
    return role == Role.superuser or action in ACTION_GRANTS.get(role or "", frozenset())


async def require_action(request: Request, action: StaffAction) -> None:
    """Raise 403 unless the logged-in staff member may run staff actions of this kind."""
    role = await role_of(request.user.user)
    if not may(role, action):
        raise HTTPException(status_code=403, detail=f"Your role ({role or 'none'}) may not {action}.")


def table_validators(table: type[Table]) -> Validators:
    """Validators for one table's admin endpoints. piccolo_api calls them by keyword (piccolo_crud=,
    request=), before every endpoint, reads included."""

    async def check_role(piccolo_crud: Any, request: Request) -> None:
        if request.method.upper() == "PUT":
            # piccolo_api runs no hooks for PUT, so a PUT would change a row without an audit entry.
            # The admin UI only ever PATCHes.
            raise HTTPException(status_code=405, detail="Replacing a row (PUT) is disabled: PATCH the fields instead.")
        await require(request, table, action_for(request.method))

    return Validators(every=[check_role])
