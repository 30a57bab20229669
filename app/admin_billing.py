"""Billing in the admin: finalized invoices refuse edits, and staff actions (forms) that call the services:
refund a payment (through ``app.billing.staff_actions``, which the support console runs too; the credit note
follows the ``payment.refunded`` event), create a test clock, create a test
customer on it (only test customers live on a clock), advance a test clock (everything that falls due on the
way runs in time order, charged through the billing run's charger: renewals, dunning retries, expiries,
reminders), and delete a test clock with its customers and all they own.

Forms are not table endpoints: each checks the staff role itself and writes its own audit entry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from piccolo.table import Table
from piccolo_admin.endpoints import FormConfig
from piccolo_api.crud.hooks import Hook, HookType
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.requests import Request

from app.admin_actions import StaffRequest, explained
from app.admin_audit import REDACTED, actor_fields
from app.admin_permissions import StaffAction, require_action
from app.audit.service import record_audit
from app.billing import service as invoices
from app.billing import staff_actions, testclocks, timetravel
from app.billing.charger import InvoiceCharger
from app.billing.staff_actions import Kind
from app.errors import DomainError
from app.payments.service import gateway_for
from app.settings import Settings
from tables.billing import Invoice, InvoiceLine

FORM_GROUP = "Billing"
STEPS_SHOWN = 12  # of an advance's steps, in the form's answer (the audit entry counts them all)


# --- finalized invoices are immutable -------------------------------------------------------------------


async def _guard(check: Any, row_id: int | None) -> None:
    if row_id is None:
        return
    try:
        await check(row_id)
    except DomainError as exc:
        raise HTTPException(status_code=exc.status, detail=exc.detail) from exc


def invoice_guard_hooks(table: type[Table]) -> list[Hook]:
    """Hooks that run before the audit hooks (which write): a change to a finalized invoice, or to a line of
    one, is refused with 409 and the reason (correct it with a credit note)."""
    check = invoices.ensure_editable if table is Invoice else invoices.ensure_line_editable

    async def on_create(row: Table, request: Request) -> Table:
        if table is Invoice and getattr(row, "status", Invoice.Status.draft) != Invoice.Status.draft:
            raise HTTPException(status_code=403, detail="Create invoices as drafts; finalizing numbers them.")
        if table is InvoiceLine:
            await _guard(invoices.ensure_editable, getattr(row, "invoice", None))
        return row

    async def on_patch(row_id: Any, values: dict[Any, Any], request: Request) -> dict[Any, Any]:
        await _guard(check, int(row_id))
        return values

    async def on_delete(row_id: Any, request: Request) -> None:
        await _guard(check, int(row_id))

    return [
        Hook(HookType.pre_save, on_create),
        Hook(HookType.pre_patch, on_patch),
        Hook(HookType.pre_delete, on_delete),
    ]


# --- staff actions --------------------------------------------------------------------------------------


class RefundPaymentForm(BaseModel):
    payment_id: int = Field(description="The payment's id (Billing -> payment).")
    amount: str = Field(default="", description="e.g. 4.00 in the payment's currency; empty: all that is left.")
    reason: str = Field(max_length=500, description="Shown on the credit note.")


class CreateTestClockForm(BaseModel):
    name: str = Field(max_length=100)
    frozen_time: datetime | None = Field(default=None, description="UTC; empty: now.")


class CreateTestCustomerForm(BaseModel):
    test_clock_id: int
    email: str = Field(max_length=320, description="A new address (e.g. you+test1@...): test customers get e-mail.")
    name: str = Field(max_length=200)
    country: str = Field(default="US", max_length=2, description="Two letters, e.g. US.")
    password: str = Field(default="", description="To log in to the portal as this customer; empty: no log-in.")


class DeleteTestClockForm(BaseModel):
    test_clock_id: int
    confirm_name: str = Field(description="The clock's name, to confirm: its customers and all their data go too.")


class AdvanceTestClockForm(BaseModel):
    test_clock_id: int
    to: datetime = Field(description="UTC; clocks only move forward.")


def _refusal(exc: DomainError) -> ValueError:
    return ValueError(exc.detail)  # piccolo-admin shows a ValueError's message on the form


class BillingForms:
    """The staff actions, bound to the app's settings (the gateway they reach, the dunning policy)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def refund_payment(self, request: Request, data: RefundPaymentForm) -> str:
        return await refund_payment(request, data)

    async def create_test_clock(self, request: Request, data: CreateTestClockForm) -> str:
        return await create_test_clock(request, data, self.settings)

    async def create_test_customer(self, request: Request, data: CreateTestCustomerForm) -> str:
        return await create_test_customer(request, data, self.settings)

    async def delete_test_clock(self, request: Request, data: DeleteTestClockForm) -> str:
        return await delete_test_clock(request, data)

    async def advance_test_clock(self, request: Request, data: AdvanceTestClockForm) -> str:
        return await advance_test_clock(request, data, self.settings)


async def refund_payment(request: Request, data: RefundPaymentForm) -> str:
    await require_action(request, StaffAction.money)
    staff = StaffRequest.of(request)
    with explained():
        amount = await staff_actions.amount_for(Kind.refund, data.payment_id, data.amount)
        done = await staff_actions.refund(staff.means(), data.payment_id, amount, actor=staff.who, reason=data.reason)
    await staff.audit(done)
    return done.message


async def create_test_clock(request: Request, data: CreateTestClockForm, settings: Settings) -> str:
    await require_action(request, StaffAction.test_clocks)
    try:
        testclocks.refuse_real_money(settings.paypal.mode)
    except DomainError as exc:
        raise _refusal(exc) from exc
    view = await testclocks.create_test_clock(data.name, data.frozen_time)
    await record_audit(
        "billing.test_clock_created", **actor_fields(request), target_type="test_clock", target_id=view.id,
        after={"name": view.name, "frozen_time": view.frozen_time},
    )  # fmt: skip
    return (
        f"Test clock #{view.id} at {view.frozen_time:%Y-%m-%d %H:%M} UTC. Add customers to it with "
        "'Create test customer on a clock'."
    )


async def create_test_customer(request: Request, data: CreateTestCustomerForm, settings: Settings) -> str:
    """A new test customer on the clock: real customers are never put on a clock's time."""
    await require_action(request, StaffAction.test_clocks)
    try:
        testclocks.refuse_real_money(settings.paypal.mode)
        customer_id = await testclocks.create_test_customer(
            data.test_clock_id, email=data.email, name=data.name, country=data.country.upper(), password=data.password
        )
    except DomainError as exc:
        raise _refusal(exc) from exc
    await record_audit(
        "billing.test_customer_created", **actor_fields(request), target_type="customer", target_id=customer_id,
        after={"test_clock_id": data.test_clock_id, "email": data.email, "password": REDACTED if data.password else ""},
    )  # fmt: skip
    return f"Test customer #{customer_id} ({data.email}) lives on test clock #{data.test_clock_id}."


async def delete_test_clock(request: Request, data: DeleteTestClockForm) -> str:
    """The clock, its test customers and everything they own; refused if any customer on it is a real one."""
    await require_action(request, StaffAction.test_clocks)
    try:
        view = await testclocks.get_test_clock(data.test_clock_id)
        if data.confirm_name.strip() != view.name:
            raise ValueError(f"Type the clock's name ({view.name!r}) to confirm; nothing was deleted.")
        deleted = await testclocks.delete_test_clock(data.test_clock_id)
    except DomainError as exc:
        raise _refusal(exc) from exc
    await record_audit(
        "billing.test_clock_deleted", **actor_fields(request), target_type="test_clock",
        target_id=data.test_clock_id, before={"name": deleted.name}, after={"deleted": deleted.rows},
    )  # fmt: skip
    rows = ", ".join(f"{count} {table}" for table, count in sorted(deleted.rows.items())) or "no customers"
    return f"Test clock {deleted.name!r} is deleted, with {rows}."


async def advance_test_clock(request: Request, data: AdvanceTestClockForm, settings: Settings) -> str:
    """Advance, running on the way everything that falls due, in time order (``app.billing.timetravel``):
    renewals charged, dunning retries and their final action, expiries, reminders."""
    await require_action(request, StaffAction.test_clocks)
    actor = actor_fields(request)
    charger = InvoiceCharger(gateway_for(settings), settings.billing)
    try:
        testclocks.refuse_real_money(settings.paypal.mode)
        run = await timetravel.advance_and_run(
            data.test_clock_id, data.to, actor=actor["actor"], charge=charger, policy=settings.billing
        )
    except DomainError as exc:
        raise _refusal(exc) from exc
    totals = {name: run.total(name) for name in ("renewed", "ended", "attempted", "expired", "reminded")}
    await record_audit(
        "billing.test_clock_advanced", **actor, target_type="test_clock", target_id=data.test_clock_id,
        after={"to": data.to, "steps": len(run.steps), **totals},
    )  # fmt: skip
    steps = "; ".join(step.describe() for step in run.steps[:STEPS_SHOWN])
    more = f"; and {len(run.steps) - STEPS_SHOWN} more steps" if len(run.steps) > STEPS_SHOWN else ""
    return (
        f"Test clock #{data.test_clock_id} is at {data.to:%Y-%m-%d %H:%M} UTC: {totals['renewed']} renewed, "
        f"{totals['ended']} ended, {totals['attempted']} charge attempts, {totals['expired']} checkouts expired, "
        f"{totals['reminded']} reminders. {steps}{more}"
    )


def billing_forms(settings: Settings) -> list[FormConfig]:
    forms = BillingForms(settings)
    return [
        FormConfig(
            name="Refund a payment",
            pydantic_model=RefundPaymentForm,
            endpoint=forms.refund_payment,
            description="Give back all or part of a succeeded payment through PayPal; a credit note is issued.",
            form_group=FORM_GROUP,
        ),
        FormConfig(
            name="Create test clock",
            pydantic_model=CreateTestClockForm,
            endpoint=forms.create_test_clock,
            description="A frozen time for test customers (add them with 'Create test customer on a clock').",
            form_group=FORM_GROUP,
        ),
        FormConfig(
            name="Create test customer on a clock",
            pydantic_model=CreateTestCustomerForm,
            endpoint=forms.create_test_customer,
            description="A new test customer living on a test clock's time (real customers never do); its "
            "invoices are numbered TEST-INV-...",
            form_group=FORM_GROUP,
        ),
        FormConfig(
            name="Delete a test clock",
            pydantic_model=DeleteTestClockForm,
            endpoint=forms.delete_test_clock,
            description="Delete a test clock with its test customers and their subscriptions, invoices and "
            "payments. Refused if any customer on it is not a test customer.",
            form_group=FORM_GROUP,
        ),
        FormConfig(
            name="Advance a test clock",
            pydantic_model=AdvanceTestClockForm,
            endpoint=forms.advance_test_clock,
            description="Move a test clock forward: renewals, trial ends, plan changes, cancellations, dunning "
            "retries and reminders happen in time order, and are charged.",
            form_group=FORM_GROUP,
        ),
    ]
