"""Staff roles are enforced on the admin's table API itself, not only in what the menu shows."""

from __future__ import annotations

import httpx
import pytest
from litestar import Litestar
from piccolo.apps.user.tables import BaseUser

from tables.audit import AuditLog
from tables.catalog import Plan
from tables.content import ContentItem
from tables.subscriptions import SubscriptionEvent
from tables.support import Ticket
from tests import factories
from tests.integration.staff import staff_client, staff_session, table
from tests.integration.test_admin import PASSWORD, admin_login


async def test_support_reads_customers_but_changes_neither_customers_nor_plans(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    customer = await factories.customer(name="Ada")
    plan = await factories.plan(name="Basic")
    async with staff_session(app, "support") as support:
        listed = await support.get(table("customer"))
        assert listed.status_code == 200, listed.text
        assert [row["name"] for row in listed.json()["rows"]] == ["Ada"]
        assert (await support.get(table("subscription"))).status_code == 200

        plan_patch = await support.patch(table("plan", plan.id), json={"name": "Hacked"})
        assert plan_patch.status_code == 403
        customer_patch = await support.patch(table("customer", customer.id), json={"name": "Eve"})
        assert customer_patch.status_code == 403
        assert (await support.delete(table("customer", customer.id))).status_code == 403
        assert (await support.get(table("invoice"))).status_code == 403

    assert (await Plan.select(Plan.name).where(Plan.id == plan.id).first()) == {"name": "Basic"}
    assert not await AuditLog.exists().where(AuditLog.action.like("admin.%"))


async def test_support_works_tickets(app: Litestar, client: httpx.AsyncClient) -> None:
    """In the table view a ticket's wording may be corrected; its status moves only through the support forms
    (app.support.admin), and tickets are opened by customers, not created here."""
    customer = await factories.customer()
    row = await factories.ticket(customer=customer.id)
    async with staff_session(app, "support") as support:
        assert (await support.get(table("ticket"))).status_code == 200
        blank = (await support.get(table("ticket") + "new/")).json()
        created = await support.post(table("ticket"), json={**blank, "customer": customer.id, "subject": "Refund?"})
        assert created.status_code == 403
        patched = await support.patch(table("ticket", row.id), json={"subject": "Refund for March"})
        assert patched.status_code == 200, patched.text
        status = await support.patch(table("ticket", row.id), json={"status": "closed"})
        assert status.status_code == 403
        assert "status" in status.text
    assert (await Ticket.select(Ticket.subject, Ticket.status).where(Ticket.id == row.id).first()) == {
        "subject": "Refund for March",
        "status": "new",
    }


async def test_content_edits_content_items_but_not_invoices(app: Litestar, client: httpx.AsyncClient) -> None:
    item = await factories.content_item(title="Draft")
    invoice = await factories.invoice()
    async with staff_session(app, "content") as content:
        patched = await content.patch(table("content_item", item.id), json={"title": "Published title"})
        assert patched.status_code == 200, patched.text
        assert (await content.patch(table("invoice", invoice.id), json={"status": "void"})).status_code == 403
        assert (await content.get(table("invoice"))).status_code == 403
        assert (await content.patch(table("plan", (await factories.plan()).id), json={"name": "x"})).status_code == 403
    assert (await ContentItem.select(ContentItem.title).where(ContentItem.id == item.id).first()) == {
        "title": "Published title"
    }


async def test_editing_a_plan_in_the_admin_keeps_its_price(app: Litestar, client: httpx.AsyncClient) -> None:
    """The admin UI sends the whole row when it saves: unchanged price columns pass, a changed one is refused."""
    plan = await factories.plan(name="Basic", amount_minor=1900)
    async with staff_session(app, "billing") as billing:
        row = (await billing.get(table("plan", plan.id))).json()
        saved = await billing.patch(table("plan", plan.id), json={**row, "name": "Basic (2026)"})
        assert saved.status_code == 200, saved.text
        repriced = await billing.patch(table("plan", plan.id), json={**row, "amount_minor": 2500})
        assert repriced.status_code == 403
        assert "cannot be changed here: amount_minor" in repriced.text
    assert await Plan.select(Plan.name, Plan.amount_minor).where(Plan.id == plan.id).first() == {
        "name": "Basic (2026)",
        "amount_minor": 1900,
    }


async def test_billing_edits_plans_but_not_tickets(app: Litestar, client: httpx.AsyncClient) -> None:
    plan = await factories.plan(name="Basic")
    ticket = await factories.ticket()
    async with staff_session(app, "billing") as billing:
        patched = await billing.patch(table("plan", plan.id), json={"name": "Basic (2026)"})
        assert patched.status_code == 200, patched.text
        assert (await billing.patch(table("ticket", ticket.id), json={"status": "open"})).status_code == 403
        assert (await billing.get(table("ticket"))).status_code == 403
        assert (await billing.get(table("customer"))).status_code == 200
    assert (await Plan.select(Plan.name).where(Plan.id == plan.id).first()) == {"name": "Basic (2026)"}


@pytest.mark.parametrize("role", ["superuser", "billing", "support", "content"])
async def test_nobody_changes_audit_rows_or_event_trails(role: str, app: Litestar, client: httpx.AsyncClient) -> None:
    await AuditLog.insert(AuditLog(actor="system", action="test.event"))
    entry = await AuditLog.select(AuditLog.id).first()
    assert entry is not None
    subscription = await factories.subscription()
    await SubscriptionEvent.insert(
        SubscriptionEvent(
            subscription=subscription.id, event="create", from_status="", to_status="active", actor="system"
        )
    )
    event = await SubscriptionEvent.select(SubscriptionEvent.id).first()
    assert event is not None
    async with staff_session(app, role) as staff:
        assert (await staff.patch(table("audit_log", entry["id"]), json={"action": "forged"})).status_code == 403
        assert (await staff.delete(table("audit_log", entry["id"]))).status_code == 403
        assert (await staff.post(table("audit_log"), json={"actor": "x", "action": "forged"})).status_code == 403
        # "Delete all" (with filters) is not even routed by piccolo-admin; it must stay refused either way.
        assert (await staff.delete(table("audit_log"))).status_code in {403, 405}
        assert (await staff.patch(table("subscription_event", event["id"]), json={"reason": "x"})).status_code == 403
        assert (await staff.delete(table("subscription_event", event["id"]))).status_code == 403
    assert await AuditLog.count().where(AuditLog.action == "test.event") == 1
    assert await SubscriptionEvent.count() == 1


async def test_superuser_reads_the_audit_log(app: Litestar, client: httpx.AsyncClient) -> None:
    await AuditLog.insert(AuditLog(actor="system", action="test.event"))
    async with staff_session(app, "superuser") as root:
        listed = await root.get(table("audit_log"))
        assert listed.status_code == 200
        # Newest first: the superuser's own log-in, then the entry made above.
        assert [row["action"] for row in listed.json()["rows"]] == ["staff.logged_in", "test.event"]


async def test_admin_user_without_a_role_may_do_nothing(app: Litestar, client: httpx.AsyncClient) -> None:
    await BaseUser.create_user(username="norole", password=PASSWORD, email="n@example.com", admin=True, active=True)
    async with staff_client(app) as http:
        assert (await admin_login(http, "norole", PASSWORD)).status_code == 200
        assert (await http.get(table("customer"))).status_code == 403
        assert (await http.get(table("plan"))).status_code == 403


async def test_staff_users_are_not_created_in_the_admin(app: Litestar, client: httpx.AsyncClient) -> None:
    async with staff_session(app, "superuser") as root:
        blank = (await root.get(table("piccolo_user") + "new/")).json()
        values = {**blank, "username": "sneaky", "password": PASSWORD, "email": "s@example.com", "admin": True}
        assert (await root.post(table("piccolo_user"), json=values)).status_code == 403
    assert not await BaseUser.exists().where(BaseUser.username == "sneaky")
