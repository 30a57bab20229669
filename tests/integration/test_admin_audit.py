"""Every change staff make through the admin leaves an audit entry: who, what, target, before/after, IP."""

from __future__ import annotations

import httpx
from litestar import Litestar
from piccolo.apps.user.tables import BaseUser

from app.admin_audit import REDACTED
from tables.audit import AuditLog
from tables.catalog import Plan
from tables.partners import WebhookEndpoint
from tests import factories
from tests.integration.staff import staff_session, table


async def _entries(action: str) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = await (
        AuditLog.select().where(AuditLog.action == action).order_by(AuditLog.id).output(load_json=True)
    )
    return rows


async def test_update_records_who_what_and_only_the_changed_fields(app: Litestar, client: httpx.AsyncClient) -> None:
    plan = await factories.plan(name="Basic", trial_days=0)
    async with staff_session(app, "billing", username="bea") as billing:
        response = await billing.patch(table("plan", plan.id), json={"name": "Basic plus", "trial_days": 0})
        assert response.status_code == 200, response.text
    staff = await BaseUser.select(BaseUser.id).where(BaseUser.username == "bea").first()
    assert staff is not None
    [entry] = await _entries("admin.plan.update")
    assert entry["actor"] == f"staff:{staff['id']}"
    assert entry["actor_label"] == "bea"
    assert entry["target_type"] == "plan"
    assert entry["target_id"] == str(plan.id)
    assert entry["before"] == {"name": "Basic"}  # trial_days was sent unchanged: not recorded
    assert entry["after"] == {"name": "Basic plus"}
    assert entry["ip"]  # the client's address, whatever the test transport reports
    assert entry["created_at"] is not None


async def test_create_names_the_new_row_and_delete_keeps_what_was_there(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    product = await factories.product()
    async with staff_session(app, "superuser") as root:
        blank = (await root.get(table("plan") + "new/")).json()
        values = {**blank, "code": "gold", "name": "Gold", "product": product.id, "amount_minor": 2500,
                  "currency": "EUR"}  # fmt: skip
        created = await root.post(table("plan"), json=values)
        assert created.status_code == 201, created.text
        plan = await Plan.objects().get(Plan.code == "gold")
        assert plan is not None
        deleted = await root.delete(table("plan", plan.id))
        assert deleted.status_code == 204, deleted.text
    assert not await Plan.exists().where(Plan.code == "gold")
    [create] = await _entries("admin.plan.create")
    assert create["target_id"] == str(plan.id)
    assert create["after"]["code"] == "gold"  # type: ignore[index]
    assert create["after"]["amount_minor"] == 2500  # type: ignore[index]
    [delete] = await _entries("admin.plan.delete")
    assert delete["target_id"] == str(plan.id)
    assert delete["before"]["name"] == "Gold"  # type: ignore[index]
    assert delete["after"] == {}


async def test_a_refused_write_leaves_no_entry_and_no_change(app: Litestar, client: httpx.AsyncClient) -> None:
    """The hook writes the change and the entry together: a change the database refuses records nothing."""
    await factories.plan(code="taken")
    plan = await factories.plan(code="mine")
    async with staff_session(app, "billing") as billing:
        clash = await billing.patch(table("plan", plan.id), json={"code": "taken"})
        assert clash.status_code == 422, clash.text
    assert await Plan.count().where(Plan.code == "taken") == 1
    assert (await Plan.select(Plan.code).where(Plan.id == plan.id).first()) == {"code": "mine"}
    assert await _entries("admin.plan.update") == []


async def test_secrets_are_recorded_as_changed_never_by_value(app: Litestar, client: httpx.AsyncClient) -> None:
    partner = await factories.partner()
    endpoint = WebhookEndpoint(partner=partner.id, url="https://partner.example/hook", secret="old-signing-secret")
    await endpoint.save()
    async with staff_session(app, "superuser") as root:
        response = await root.patch(table("webhook_endpoint", endpoint.id), json={"secret": "new-signing-secret"})
        assert response.status_code == 200, response.text
    [entry] = await _entries("admin.webhook_endpoint.update")
    assert entry["before"] == {"secret": REDACTED}
    assert entry["after"] == {"secret": REDACTED}
    assert "signing-secret" not in str(await AuditLog.select())


async def test_put_which_piccolo_runs_without_hooks_is_refused(app: Litestar, client: httpx.AsyncClient) -> None:
    plan = await factories.plan(name="Basic")
    async with staff_session(app, "superuser") as root:
        current = (await root.get(table("plan", plan.id))).json()
        replaced = await root.put(table("plan", plan.id), json={**current, "name": "Unaudited"})
        assert replaced.status_code == 405
    assert (await Plan.select(Plan.name).where(Plan.id == plan.id).first()) == {"name": "Basic"}
