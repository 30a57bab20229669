"""Test clocks (Stripe's): a test customer lives on a clock's frozen time; staff advance it to watch renewals,
trial ends and cancellations happen. Customers without a clock live on ``app.clock.now()``.

Only test customers live on a clock, and they are made there (``create_test_customer``): a real customer is
never put on one (in live mode its renewals would take real money), and whether a customer is a test customer
is fixed when it is created (the database refuses anything else). Test customers' invoices and credit notes
are numbered in their own series (``app.billing.numbering``), so the live series stays gapless and dated by
real time. Deleting a clock deletes its customers and everything they own: test data only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app import clock
from app.accounts.countries import is_country
from app.accounts.errors import FormError
from app.accounts.passwords import hash_password, password_problem
from app.accounts.service import EMAIL, normalise_email
from app.billing.errors import ClockBackwards, NotATestCustomer
from app.billing.renewals import GenerationResult, generate_renewals
from app.db import delete_with_dependents, lock_row, write_transaction
from app.errors import Conflict, NotFound
from app.outbox.service import record
from tables.accounts import Customer
from tables.clocks import TestClock
from tables.piccolo_app import APP_CONFIG

NO_PASSWORD = "!test-customer: no password set"  # noqa: S105 - not a hash: no password ever verifies against it


@dataclass(frozen=True, slots=True)
class ClockView:
    id: int
    name: str
    frozen_time: datetime


def refuse_real_money(paypal_mode: str) -> None:
    """Test clocks are for PayPal's sandbox (or the bundled one): with live PayPal a test customer's saved account
    is a real one, and an advance would take real money for made-up time."""
    if paypal_mode == "live":
        raise Conflict(
            "Test clocks need PayPal's sandbox: with PAYPAL_MODE=live an advance would charge real money.",
            code="test_clocks_in_live_mode",
        )


async def create_test_clock(name: str, frozen_time: datetime | None = None) -> ClockView:
    at = clock.as_utc(frozen_time) if frozen_time else clock.now()
    rows = await TestClock.insert(TestClock(name=name, frozen_time=at, created_at=clock.now())).returning(TestClock.id)
    return ClockView(int(rows[0]["id"]), name, at)


@dataclass(frozen=True, slots=True)
class DeletedClock:
    name: str
    customers: int
    rows: dict[str, int]  # rows deleted per table, the customers' and everything they owned


async def create_test_customer(clock_id: int, *, email: str, name: str, country: str = "US", password: str = "") -> int:
    """A new test customer living on the clock, with a confirmed address (staff made it) and, when given, a
    password to log in to the portal with (else none works until a reset). Returns the customer's id."""
    email, name = normalise_email(email), name.strip()
    problems = {
        "email": None if EMAIL.match(email) and len(email) <= 320 else "Enter an e-mail address like name@example.com.",
        "name": None if 0 < len(name) <= 200 else "Enter a name.",
        "country": None if is_country(country) else "Use a two-letter country code such as US.",
        "password": password_problem(password, email=email, name=name) if password else None,
    }
    if found := {field: problem for field, problem in problems.items() if problem}:
        raise FormError(found, detail=" ".join(found.values()))
    on = await get_test_clock(clock_id)
    now = clock.now()
    async with write_transaction():
        if await Customer.exists().where(Customer.email == email):
            raise Conflict(f"A customer with the address {email} exists already; use another (e.g. name+test@...).")
        rows = await Customer.insert(
            Customer(
                email=email, name=name, country=country, email_verified_at=now, is_test=True, test_clock=on.id,
                password_hash=hash_password(password) if password else NO_PASSWORD, created_at=now, updated_at=now,
            )
        ).returning(Customer.id)  # fmt: skip
    return int(rows[0]["id"])


async def attach_test_clock(customer_id: int, clock_id: int) -> None:
    """Move a test customer to another clock. A real customer is refused: it never lives on a clock."""
    await get_test_clock(clock_id)
    row = await Customer.select(Customer.is_test).where(Customer.id == customer_id).first()
    if row is None:
        raise NotFound(f"There is no customer #{customer_id}.")
    if not row["is_test"]:
        raise NotATestCustomer(
            f"Customer #{customer_id} is a real customer: only test customers, made on a clock, live on one."
        )
    await Customer.update({Customer.test_clock: clock_id}).where(Customer.id == customer_id)


async def delete_test_clock(clock_id: int) -> DeletedClock:
    """Delete the clock with its customers and everything they own (subscriptions, invoices, payments, their
    events...), in one transaction; refused, deleting nothing, if any customer on it is not a test customer."""
    async with write_transaction():
        if not await lock_row(TestClock, clock_id):  # no advance of it runs meanwhile
            raise NotFound(f"There is no test clock #{clock_id}.")
        view = await get_test_clock(clock_id)
        customers = await Customer.select(Customer.id, Customer.is_test).where(Customer.test_clock == clock_id)
        if real := [c["id"] for c in customers if not c["is_test"]]:
            raise NotATestCustomer(f"Test clock {view.name!r} has real customers ({real}); nothing was deleted.")
        rows = await delete_with_dependents(Customer, [c["id"] for c in customers], APP_CONFIG.table_classes)
        await TestClock.delete().where(TestClock.id == clock_id)
    return DeletedClock(view.name, len(customers), rows)


async def advance_test_clock(clock_id: int, to: datetime, *, actor: str, run_billing: bool = True) -> GenerationResult:
    """Move the clock forward to ``to`` and (by default) run renewal generation for its customers at once,
    instead of waiting for the next billing tick. Time never runs backwards. The returned invoice ids are
    committed and still to be charged (``app.billing.charging``). Staff's "advance" runs everything that
    falls due, in time order, charges and dunning included (``app.billing.timetravel``)."""
    await move_test_clock(clock_id, to, actor=actor)
    if not run_billing:
        return GenerationResult()
    return await generate_renewals(test_clock_id=clock_id)


async def move_test_clock(clock_id: int, to: datetime, *, actor: str) -> ClockView:
    """Set the clock's time to ``to`` (never earlier than it is) and record the move; returns where it was."""
    to = clock.as_utc(to)
    current = ensure_forward(await get_test_clock(clock_id), to)
    async with write_transaction():
        await TestClock.update({TestClock.frozen_time: to}).where(TestClock.id == clock_id)
        payload = {"from": current.frozen_time.isoformat(), "to": to.isoformat(), "actor": actor}
        await record("test_clock.advanced", "test_clock", clock_id, payload)
    return current


def ensure_forward(current: ClockView, to: datetime) -> ClockView:
    """``current``, or ClockBackwards when ``to`` is earlier: time never runs backwards."""
    if to < current.frozen_time:
        raise ClockBackwards(
            f"Test clock {current.name!r} is at {current.frozen_time:%Y-%m-%d %H:%M}; it only moves on."
        )
    return current


async def get_test_clock(clock_id: int) -> ClockView:
    row = (
        await TestClock.select(TestClock.id, TestClock.name, TestClock.frozen_time)
        .where(TestClock.id == clock_id)
        .first()
    )
    if row is None:
        raise NotFound(f"There is no test clock #{clock_id}.")
    return ClockView(row["id"], row["name"], clock.as_utc(row["frozen_time"]))
