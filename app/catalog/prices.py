"""Plan prices never change under subscribers: a new price is a new version of the plan (grandfathering).

Once anybody has subscribed to a plan (or has it scheduled, or was invoiced for it), its amount, currency and
interval are fixed: a database trigger refuses the update (migration ``plan_price_immutable``), whatever asks.
``new_price`` copies the plan, its features included, as the next version of the same family at the new price
and closes the old version to new sign-ups (``archived``): its subscribers keep it, and the price they signed
up for, until staff move them to the new one (``app.billing.price_moves``).

A family is named by its first version's code (``Plan.family``, empty until the plan is first re-priced);
every version keeps a unique code of its own (``basic``, ``basic-v2``, ...), and a sign-up page for any of them
(``/subscribe/<code>``) sells the family's current version (``code_on_sale``).
"""

from __future__ import annotations

from dataclasses import dataclass

from app import clock
from app.db import locked_row, write_transaction
from app.errors import Conflict, InvalidInput, NotFound
from app.outbox.service import record
from tables.billing import InvoiceLine, PriceMove
from tables.catalog import Plan, PlanFeature
from tables.subscriptions import Subscription

NEW_PRICE_EVENT = "plan.new_price"


class NotTheCurrentVersion(Conflict):
    code = "not_the_current_version"


class SamePrice(InvalidInput):
    code = "same_price"


@dataclass(frozen=True, slots=True)
class NewPrice:
    plan_id: int  # the new version
    code: str
    version: int
    family: str
    closed_plan_id: int  # the version it replaces, now closed to new sign-ups


async def new_price(
    plan_id: int, amount_minor: int, *, actor: str, currency: str | None = None, code: str | None = None
) -> NewPrice:
    """Make the next version of the plan at ``amount_minor`` (and ``currency``, else the plan's), with the
    plan's name, terms and features, open for sign-ups; close ``plan_id`` to them. Subscribers stay on it."""
    async with write_transaction():
        old = await locked_row(Plan, plan_id)  # two "new price" clicks take turns: one new version
        if old is None:
            raise NotFound(f"There is no plan #{plan_id}.")
        currency = (currency or old["currency"]).upper()
        if amount_minor < 0:
            raise InvalidInput("A price cannot be negative.", code="negative_price")
        if (amount_minor, currency) == (old["amount_minor"], old["currency"]):
            raise SamePrice(f"Plan {old['code']!r} already costs that.")
        family = old["family"] or old["code"]
        newest = await _newest(family)
        if newest is not None and newest["id"] != plan_id:
            raise NotTheCurrentVersion(
                f"Plan {old['code']!r} was re-priced already as {newest['code']!r}: give that one its new price."
            )
        version = old["version"] + 1
        code = (code or f"{family}-v{version}").strip()
        if await Plan.exists().where(Plan.code == code):
            raise Conflict(f"There is a plan with the code {code!r} already; choose another code.", code="code_taken")
        if old["family"] is None:
            await Plan.update({Plan.family: family}).where(Plan.id == plan_id)
        copied = {key: old[key] for key in ("product", "name", "description", "interval", "interval_count",
                                            "trial_days", "public", "sort_order")}  # fmt: skip
        rows = await Plan.insert(
            Plan(**copied, code=code, amount_minor=amount_minor, currency=currency, status=Plan.Status.active,
                 family=family, version=version, created_at=clock.now())
        ).returning(Plan.id)  # fmt: skip
        new_id = int(rows[0]["id"])
        features = await PlanFeature.select(PlanFeature.feature, PlanFeature.limit_value).where(
            PlanFeature.plan == plan_id
        )
        if features:
            await PlanFeature.insert(*(PlanFeature(plan=new_id, **feature) for feature in features))
        await Plan.update({Plan.status: Plan.Status.archived}).where(Plan.id == plan_id)
        await record(
            NEW_PRICE_EVENT, "plan", new_id,
            {"from_plan": plan_id, "to_plan": new_id, "amount_minor": amount_minor, "currency": currency,
             "actor": actor},
        )  # fmt: skip
    return NewPrice(new_id, code, version, family, plan_id)


async def in_use(plan_id: int) -> bool:
    """Whether the plan's price is fixed: somebody subscribed to it, has it scheduled or was invoiced for it
    (the same test as the database's trigger, asked first to explain a refusal)."""
    return bool(
        await Subscription.exists().where((Subscription.plan == plan_id) | (Subscription.pending_plan == plan_id))
        or await PriceMove.exists().where(PriceMove.to_plan == plan_id)
        or await InvoiceLine.exists().where(InvoiceLine.plan == plan_id)
    )


async def code_on_sale(code: str) -> str:
    """The code of the plan a sign-up for ``code`` buys: its family's current version (the newest one open to
    sign-ups), else ``code`` itself (a plan never re-priced, or a family with nothing on sale)."""
    row = await Plan.select(Plan.family).where(Plan.code == code).first()
    if row is None or row["family"] is None:
        return code
    newest = await _newest(row["family"], open_only=True)
    return str(newest["code"]) if newest is not None else code


async def _newest(family: str, *, open_only: bool = False) -> dict[str, object] | None:
    query = Plan.select(Plan.id, Plan.code).where(Plan.family == family)
    if open_only:
        query = query.where(Plan.status == Plan.Status.active)
    return await query.order_by(Plan.version, ascending=False).first()
