"""Plan prices in the admin: a subscribed plan's price is not edited in its row (the guard below answers 409, and
the database refuses it anyway); billing staff use two actions instead (piccolo-admin forms, role-checked and
audited like every staff action):

- "New price": the plan's next version at a new amount, open for sign-ups; the old one is closed to them and
  its subscribers keep their price (``app.catalog.prices``).
- "Move subscribers to a new price": chosen subscribers (all of a version, or a list) bill the new version from
  their first renewal at least PRICE_CHANGE_NOTICE_DAYS away, after a notice e-mail (``app.billing.price_moves``).
"""

from __future__ import annotations

from decimal import InvalidOperation
from typing import Any

from piccolo.table import Table
from piccolo_admin.endpoints import FormConfig
from piccolo_api.crud.hooks import Hook, HookType
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.requests import Request

from app.admin_audit import actor_fields
from app.admin_permissions import StaffAction, require_action
from app.audit.service import record_audit
from app.billing import price_moves
from app.catalog import prices
from app.errors import DomainError
from app.money import CurrencyError, Money
from app.settings import Settings
from tables.catalog import Plan

FORM_GROUP = "Billing"
PRICE_COLUMNS = ("amount_minor", "currency", "interval", "interval_count")
VERSION_COLUMNS = ("family", "version")  # set by "New price" only
SHOWN = 20  # of the moved subscriptions, in the form's answer (the audit entry has them all)


class NewPriceForm(BaseModel):
    plan_id: int = Field(description="The plan's current version (Catalog -> plan).")
    amount: str = Field(description="The new price per interval, e.g. 25.00.")
    currency: str = Field(default="", max_length=3, description="Empty: the plan's currency.")
    code: str = Field(default="", max_length=100, description="The new version's code; empty: <family>-v<version>.")


class MoveToNewPriceForm(BaseModel):
    to_plan_id: int = Field(description="The new price (the plan's current version).")
    from_plan_id: int | None = Field(default=None, description="Move every subscriber of this older version.")
    subscription_ids: str = Field(default="", description="Or only these subscriptions, e.g. 12, 15, 31.")


def _refusal(exc: DomainError) -> ValueError:
    return ValueError(exc.detail)  # piccolo-admin shows a ValueError's message on the form


def _name(column: Any) -> str:
    return column if isinstance(column, str) else str(column._meta.name)


def plan_guard_hooks() -> dict[type[Table], list[Hook]]:
    """Before the audit hooks write: versions are made by "New price" only, and a subscribed plan's price
    columns refuse a change with 409 and what to do instead."""

    async def on_create(row: Table, request: Request) -> Table:
        if getattr(row, "family", None) is not None or getattr(row, "version", 1) != 1:
            raise HTTPException(status_code=403, detail="Later versions of a plan are made with 'New price'.")
        return row

    async def on_patch(row_id: Any, values: dict[Any, Any], request: Request) -> dict[Any, Any]:
        by_name = {_name(column): value for column, value in values.items()}
        current = await Plan.select().where(Plan.id == int(row_id)).first()
        if current is None:
            return values
        if [n for n in VERSION_COLUMNS if n in by_name and by_name[n] != current[n]]:
            raise HTTPException(status_code=403, detail="A plan's family and version are set by 'New price' only.")
        changed = [n for n in PRICE_COLUMNS if n in by_name and by_name[n] != current[n]]
        if changed and await prices.in_use(int(row_id)):
            raise HTTPException(
                status_code=409,
                detail=f"Plan {current['code']!r} has subscribers: its {', '.join(changed)} cannot change. Use "
                "'New price' for a new version, then 'Move subscribers to a new price'.",
            )
        return values

    return {Plan: [Hook(HookType.pre_save, on_create), Hook(HookType.pre_patch, on_patch)]}


class PriceForms:
    """The two staff actions, bound to the app's settings (the notice period)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def new_price(self, request: Request, data: NewPriceForm) -> str:
        await require_action(request, StaffAction.prices)
        plan = await Plan.select(Plan.currency).where(Plan.id == data.plan_id).first()
        if plan is None:
            raise ValueError(f"There is no plan #{data.plan_id}.")
        currency = (data.currency.strip() or plan["currency"]).upper()
        try:
            amount = Money.from_decimal_string(data.amount.strip(), currency)
        except (InvalidOperation, CurrencyError, ValueError) as exc:
            raise ValueError(f"Enter the price like 25.00 ({exc}).") from exc
        actor = actor_fields(request)
        try:
            made = await prices.new_price(
                data.plan_id, amount.amount_minor, currency=currency, code=data.code.strip() or None,
                actor=actor["actor"],
            )  # fmt: skip
        except DomainError as exc:
            raise _refusal(exc) from exc
        await record_audit(
            "billing.plan_new_price", **actor, target_type="plan", target_id=made.plan_id,
            after={"from_plan": made.closed_plan_id, "code": made.code, "version": made.version,
                   "amount_minor": amount.amount_minor, "currency": currency},
        )  # fmt: skip
        return (
            f"Plan {made.code!r} (#{made.plan_id}, version {made.version}) sells at {amount.format()} from now on; "
            f"plan #{made.closed_plan_id} is closed to new sign-ups and its subscribers keep their price. Move "
            "them with 'Move subscribers to a new price'."
        )

    async def move_subscribers(self, request: Request, data: MoveToNewPriceForm) -> str:
        await require_action(request, StaffAction.prices)
        try:
            chosen = {int(part) for part in data.subscription_ids.replace(",", " ").split()}
        except ValueError as exc:
            raise ValueError("List subscription ids as numbers, e.g. 12, 15, 31.") from exc
        actor = actor_fields(request)
        try:
            report = await price_moves.move_subscribers(
                data.to_plan_id, actor=actor["actor"], policy=self.settings.billing, from_plan_id=data.from_plan_id,
                subscription_ids=chosen or None,
            )  # fmt: skip
        except DomainError as exc:
            raise _refusal(exc) from exc
        scheduled = {sub: at.isoformat() for sub, at in report.scheduled.items()}
        await record_audit(
            "billing.price_move_scheduled", **actor, target_type="plan", target_id=data.to_plan_id,
            after={"scheduled": scheduled, "unchanged": report.unchanged, "skipped": report.skipped},
        )  # fmt: skip
        days = self.settings.billing.price_change_notice_days
        listed = "; ".join(f"#{sub} from {at:%Y-%m-%d}" for sub, at in sorted(report.scheduled.items())[:SHOWN])
        more = f"; and {len(report.scheduled) - SHOWN} more" if len(report.scheduled) > SHOWN else ""
        return (
            f"{len(report.scheduled)} subscriptions move to plan #{data.to_plan_id} at their first renewal at "
            f"least {days} days away, each told by e-mail {days} days before: {listed or 'none'}{more}. "
            f"Already moving there: {len(report.unchanged)}. Not renewing on an older price of this plan, left "
            f"as they are: {', '.join(f'#{s}' for s in report.skipped) or 'none'}."
        )


def price_forms(settings: Settings) -> list[FormConfig]:
    forms = PriceForms(settings)
    return [
        FormConfig(
            name="New price",
            pydantic_model=NewPriceForm,
            endpoint=forms.new_price,
            description="A new version of a plan at a new price, open for sign-ups (its URL /subscribe/<code> "
            "sells it); the old version is closed to them and its subscribers keep the price they have.",
            form_group=FORM_GROUP,
        ),
        FormConfig(
            name="Move subscribers to a new price",
            pydantic_model=MoveToNewPriceForm,
            endpoint=forms.move_subscribers,
            description="Chosen subscribers of an older version pay the new price from their first renewal at "
            "least the notice period away (PRICE_CHANGE_NOTICE_DAYS), after a notice e-mail that many days before.",
            form_group=FORM_GROUP,
        ),
    ]
