"""piccolo-admin for staff, mounted at /admin/ with its own users (piccolo BaseUser) and sessions."""

from __future__ import annotations

from typing import Any

from piccolo.apps.user.tables import BaseUser
from piccolo.table import Table
from piccolo_admin.endpoints import TableConfig, create_admin
from piccolo_api.crud.endpoints import OrderBy
from piccolo_api.crud.hooks import Hook, HookType
from piccolo_api.session_auth.tables import SessionsBase

from app.accounts.staff_mfa import staff_mfa_provider
from app.admin_accounts import account_forms
from app.admin_audit import audit_hooks
from app.admin_billing import billing_forms, invoice_guard_hooks
from app.admin_forms import admin_forms
from app.admin_invoices import invoice_forms
from app.admin_permissions import TABLE_LIMITS, Action, table_validators
from app.admin_prices import plan_guard_hooks, price_forms
from app.admin_subscriptions import subscription_forms
from app.content.admin import content_guards, content_hooks, media_storages
from app.content.runtime import ContentRuntime
from app.settings import Settings
from app.support.admin import support_forms
from app.support.help.admin import help_guards, help_hooks
from tables.accounts import Customer, CustomerSession, StaffRole
from tables.audit import AuditLog, DataRequest
from tables.billing import CreditNote, Invoice, InvoiceEvent, InvoiceLine
from tables.catalog import Feature, Plan, PlanFeature, Product
from tables.clocks import TestClock
from tables.content import ContentChange, ContentItem, ContentItemFeature, ContentItemTag, Tag
from tables.outbox import OutboxEvent
from tables.partners import ApiKey, Partner, WebhookDelivery, WebhookEndpoint
from tables.payments import Payment, PaymentEvent, PaymentMethod, Refund, WebhookEvent
from tables.subscriptions import Subscription, SubscriptionEvent
from tables.support import (
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


def _grouped(hooks: list[Hook]) -> list[Hook]:
    """Hooks of one type next to each other, in their order: piccolo_api builds its hook map with an unsorted
    ``itertools.groupby``, so a second run of pre_save hooks would silently replace the first (the audit's)."""
    order = {hook_type: n for n, hook_type in enumerate(HookType)}
    return sorted(hooks, key=lambda hook: order[hook.hook_type])


def _config(
    table: Any,
    group: str,
    columns: list[Any] | None = None,
    *,
    newest_first: bool = False,
    order_by: list[OrderBy] | None = None,
    extra_hooks: dict[type[Table], list[Hook]] | None = None,
    guard_hooks: dict[type[Table], list[Hook]] | None = None,
    media_storage: list[Any] | None = None,
) -> TableConfig:
    """Every table gets the role check on all its endpoints, and audit hooks unless no one may change it;
    ``extra_hooks`` (a domain's, e.g. content's cache invalidation) run after the audit hooks' write. Invoices
    and their lines first refuse changes once finalized, and ``guard_hooks`` (e.g. content's slug check) refuse
    what may not be written: the audit hooks write, so guards go first."""
    if newest_first:
        order_by = [OrderBy(column=table._meta.primary_key, ascending=False)]
    writable = TABLE_LIMITS.get(table, frozenset(Action)) != {Action.read}
    guards = invoice_guard_hooks(table) if table in (Invoice, InvoiceLine) else []
    guards += (guard_hooks or {}).get(table, [])
    return TableConfig(
        table_class=table,
        menu_group=group,
        visible_columns=columns,
        order_by=order_by,
        validators=table_validators(table),
        hooks=_grouped([*guards, *audit_hooks(table), *(extra_hooks or {}).get(table, [])]) if writable else None,
        media_storage=media_storage,
    )


def table_configs(content: ContentRuntime | None = None) -> list[TableConfig]:
    """Every table staff work with, grouped as the sidebar shows them. Secrets (token hashes, recovery
    codes, idempotency records) are deliberately absent. With ``content``, catalog and help edits refresh what
    customers see (app.content.admin, app.support.help.admin) and item files are uploaded to its media storage."""
    hooks = {**content_hooks(content), **help_hooks(content)} if content else {}
    guards = {**content_guards(), **help_guards()}
    storages = media_storages(content) if content else None
    return [
        _config(
            Customer,
            "Customers",
            [
                Customer.id,
                Customer.email,
                Customer.name,
                Customer.country,
                Customer.status,
                Customer.email_verified_at,
                Customer.created_at,
            ],
        ),
        _config(CustomerSession, "Customers"),
        _config(Product, "Catalog", extra_hooks=hooks),
        _config(
            Plan,
            "Catalog",
            [
                Plan.id,
                Plan.code,
                Plan.name,
                Plan.product,
                Plan.amount_minor,
                Plan.currency,
                Plan.interval,
                Plan.interval_count,
                Plan.public,
                Plan.status,
            ],
            extra_hooks=hooks,
            guard_hooks=plan_guard_hooks(),
        ),
        _config(Feature, "Catalog", extra_hooks=hooks),
        _config(PlanFeature, "Catalog", extra_hooks=hooks),
        _config(
            ContentItem,
            "Content",
            [
                ContentItem.id,
                ContentItem.title,
                ContentItem.kind,
                ContentItem.publish_state,
                ContentItem.publish_at,
                ContentItem.updated_at,
            ],
            extra_hooks=hooks,
            guard_hooks=guards,
            media_storage=storages,
        ),
        _config(ContentItemFeature, "Content", extra_hooks=hooks),
        _config(Tag, "Content", extra_hooks=hooks),
        _config(ContentItemTag, "Content", extra_hooks=hooks),
        _config(ContentChange, "Content", newest_first=True),
        _config(
            Subscription,
            "Billing",
            [
                Subscription.id,
                Subscription.customer,
                Subscription.plan,
                Subscription.status,
                Subscription.current_period_end,
                Subscription.cancel_at_period_end,
                Subscription.cancel_reason,
                Subscription.canceled_at,
            ],
        ),
        _config(SubscriptionEvent, "Billing", newest_first=True),
        _config(
            Invoice,
            "Billing",
            [
                Invoice.id,
                Invoice.number,
                Invoice.customer,
                Invoice.status,
                Invoice.total_minor,
                Invoice.currency,
                Invoice.finalized_at,
            ],
            newest_first=True,
        ),
        _config(InvoiceLine, "Billing"),
        _config(InvoiceEvent, "Billing", newest_first=True),
        _config(CreditNote, "Billing", newest_first=True),
        _config(
            Payment,
            "Billing",
            [
                Payment.id,
                Payment.invoice,
                Payment.customer,
                Payment.amount_minor,
                Payment.currency,
                Payment.status,
                Payment.failure_code,
                Payment.created_at,
            ],
            newest_first=True,
        ),
        _config(PaymentEvent, "Billing", newest_first=True),
        _config(Refund, "Billing", newest_first=True),
        _config(PaymentMethod, "Billing"),
        _config(TestClock, "Billing"),
        _config(
            Ticket,
            "Support",
            [
                Ticket.id,
                Ticket.subject,
                Ticket.customer,
                Ticket.requester_email,
                Ticket.status,
                Ticket.priority,
                Ticket.assignee,
                Ticket.channel,
                Ticket.verified,
                Ticket.updated_at,
            ],
            newest_first=True,
        ),
        _config(TicketMessage, "Support", newest_first=True),
        _config(TicketEvent, "Support", newest_first=True),
        _config(TicketAttachment, "Support", newest_first=True),
        _config(HelpDeflection, "Support", newest_first=True),
        _config(Chat, "Support", newest_first=True),
        _config(ChatEvent, "Support", newest_first=True),
        _config(
            KnowledgeBaseArticle,
            "Support",
            [
                KnowledgeBaseArticle.id,
                KnowledgeBaseArticle.title,
                KnowledgeBaseArticle.category,
                KnowledgeBaseArticle.publish_state,
                KnowledgeBaseArticle.publish_at,
                KnowledgeBaseArticle.updated_at,
            ],
            extra_hooks=hooks,
            guard_hooks=guards,
        ),
        _config(HelpCategory, "Support", extra_hooks=hooks, guard_hooks=guards),
        # Read-only: each article's votes counted (a view); worst-rated first.
        _config(HelpArticleRating, "Support", order_by=[OrderBy(column=HelpArticleRating.rating)]),
        _config(
            CannedReply, "Support", [CannedReply.id, CannedReply.title, CannedReply.active, CannedReply.updated_at]
        ),
        _config(TicketRating, "Support", newest_first=True),
        _config(Partner, "Partners"),
        _config(
            ApiKey,
            "Partners",
            [
                ApiKey.id,
                ApiKey.partner,
                ApiKey.name,
                ApiKey.prefix,
                ApiKey.scopes,
                ApiKey.expires_at,
                ApiKey.revoked_at,
                ApiKey.last_used_at,
            ],
        ),
        _config(WebhookEndpoint, "Partners"),
        _config(WebhookDelivery, "Partners", newest_first=True),
        _config(AuditLog, "System", newest_first=True),
        _config(OutboxEvent, "System", newest_first=True),
        _config(WebhookEvent, "System", newest_first=True),
        _config(DataRequest, "System", newest_first=True),
        _config(StaffRole, "System"),
        # Listed explicitly (piccolo-admin would add it anyway, through StaffRole.user) so that it gets the
        # role check and audit hooks like every other table. Passwords never leave the server.
        _config(
            BaseUser,
            "System",
            [
                BaseUser.id,
                BaseUser.username,
                BaseUser.email,
                BaseUser.active,
                BaseUser.admin,
                BaseUser.superuser,
                BaseUser.last_login,
            ],
        ),
    ]


def build_admin(settings: Settings, content: ContentRuntime | None = None) -> Any:
    return create_admin(
        tables=table_configs(content),
        forms=admin_forms()
        + billing_forms(settings)
        + price_forms(settings)
        + subscription_forms()
        + invoice_forms()
        + account_forms()
        + support_forms(),
        auth_table=BaseUser,
        session_table=SessionsBase,
        site_name=f"{settings.site_name} admin",
        production=settings.https,  # piccolo-admin's "production" means: send cookies with Secure
        page_size=25,
        mfa_providers=[staff_mfa_provider(settings)],
    )
