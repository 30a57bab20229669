"""Customer accounts: registration, e-mail verification, log-in, profile, password and e-mail changes.

Two-factor authentication lives in ``twofactor.py``, password reset in ``recovery.py``, sessions in
``sessions.py``. Mail is queued only after the change it reports has committed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from litestar.stores.base import Store

from app import clock
from app.accounts import sessions
from app.accounts.countries import is_country
from app.accounts.errors import EmailNotVerified, FormError, LoginFailed, TooManyAttempts
from app.accounts.passwords import hash_password, needs_rehash, password_problem, verify_password
from app.accounts.tokens import consume_token, issue_token
from app.audit.service import actor_for_customer, record_audit
from app.db import write_transaction
from app.errors import Conflict, NotFound
from app.jobs import JobQueue
from app.mail import OutgoingMail
from app.mail_templates import render_mail
from app.ratelimit import RateLimiter
from app.settings import Settings
from tables.accounts import AuthToken, Customer

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
# (attempts, window in seconds)
LOGIN_PER_IP = (30, 900)
LOGIN_FAILURES_PER_ACCOUNT = (5, 900)
REGISTRATIONS_PER_IP = (10, 3600)


@dataclass(frozen=True, slots=True)
class AccountsContext:
    """What account operations need from outside: configuration, the job queue, the rate limiter, the
    session store, and where the request came from (for limits and the audit trail)."""

    settings: Settings
    queue: JobQueue
    limiter: RateLimiter
    store: Store
    ip: str = ""
    user_agent: str = ""

    def link(self, path: str) -> str:
        return self.settings.base_url + path

    async def send(self, mail: OutgoingMail) -> None:
        await self.queue.enqueue("send_email", mail.to_job())


def normalise_email(value: str) -> str:
    return value.strip().lower()


def _check_email(email: str) -> str | None:
    if not EMAIL.match(email) or len(email) > 320:
        return "Enter an e-mail address like name@example.com."
    return None


async def enforce_limit(ctx: AccountsContext, key: str, rule: tuple[int, int]) -> None:
    decision = await ctx.limiter.hit(key, *rule)
    if not decision.allowed:
        await record_audit("security.rate_limited", actor="system", target_type="limit", target_id=key, ip=ctx.ip)
        raise TooManyAttempts(decision.retry_after_s)


async def register(ctx: AccountsContext, *, email: str, password: str, name: str, country: str) -> Customer:
    email = normalise_email(email)
    name = name.strip()
    problems = {
        "email": _check_email(email),
        "name": None if 0 < len(name) <= 200 else "Enter your name.",
        "country": None if is_country(country) else "Choose your country.",
        "password": password_problem(password, email=email, name=name),
    }
    if any(problems.values()):
        raise FormError({k: v for k, v in problems.items() if v})
    await enforce_limit(ctx, f"register:ip:{ctx.ip}", REGISTRATIONS_PER_IP)
    if await Customer.exists().where(Customer.email == email):
        raise FormError({"email": "An account with this e-mail exists already. Log in, or reset your password."})
    now = clock.now()
    async with write_transaction():
        customer = Customer(
            email=email,
            password_hash=hash_password(password),
            name=name,
            country=country,
            created_at=now,
            updated_at=now,
        )
        await customer.save()
        token = await issue_token(customer.id, AuthToken.Purpose.verify_email)
        await record_audit(
            "customer.registered",
            actor=actor_for_customer(customer.id),
            actor_label=email,
            target_type="customer",
            target_id=customer.id,
            ip=ctx.ip,
        )
    await ctx.send(_verification_mail(ctx, customer, token))
    return customer


def _verification_mail(ctx: AccountsContext, customer: Customer, token: str) -> OutgoingMail:
    return render_mail(
        "verify_email",
        customer.email,
        f"Confirm your e-mail for {ctx.settings.site_name}",
        name=customer.name,
        link=ctx.link(f"/verify-email?token={token}"),
        site_name=ctx.settings.site_name,
    )


async def resend_verification(ctx: AccountsContext, customer: Customer) -> None:
    if customer.email_verified_at is not None:
        return
    await enforce_limit(ctx, f"verify:customer:{customer.id}", (5, 3600))
    token = await issue_token(customer.id, AuthToken.Purpose.verify_email)
    await ctx.send(_verification_mail(ctx, customer, token))


async def send_verification(ctx: AccountsContext, customer_id: int) -> Customer:
    """Staff: mail the customer a new confirmation link (refused once the address is confirmed)."""
    customer = await get_customer(customer_id)
    if customer.email_verified_at is not None:
        raise Conflict(f"{customer.email} is confirmed already: there is nothing to verify.", code="email_verified")
    await resend_verification(ctx, customer)
    return customer


async def verify_email(ctx: AccountsContext, token: str) -> Customer:
    used = await consume_token(token, AuthToken.Purpose.verify_email)
    customer = await get_customer(used.customer)
    if customer.email_verified_at is None:
        customer.email_verified_at = clock.now()
        await customer.save([Customer.email_verified_at])
        await audit_customer(ctx, "customer.email_verified", customer)
    return customer


async def get_customer(customer_id: int) -> Customer:
    customer = await Customer.objects().get(Customer.id == customer_id)
    if customer is None or customer.status != Customer.Status.active:
        raise NotFound("No such customer.", code="customer_not_found")
    return customer


async def check_password(ctx: AccountsContext, email: str, password: str) -> Customer:
    """The customer whose e-mail and password these are, or LoginFailed with one message for every cause
    (unknown e-mail, wrong password, disabled account) so the form reveals nothing. Rate limited per IP and
    per account; repeated failures are audited."""
    email = normalise_email(email)
    await enforce_limit(ctx, f"login:ip:{ctx.ip}", LOGIN_PER_IP)
    account_key = f"login-fail:account:{email}"
    if not (await ctx.limiter.peek(account_key, *LOGIN_FAILURES_PER_ACCOUNT)).allowed:
        await enforce_limit(ctx, account_key, LOGIN_FAILURES_PER_ACCOUNT)
    customer = await Customer.objects().get(Customer.email == email)
    hash_ = customer.password_hash if customer is not None and customer.status == Customer.Status.active else None
    if customer is None or not verify_password(hash_, password):
        await ctx.limiter.hit(account_key, *LOGIN_FAILURES_PER_ACCOUNT)
        await record_audit(
            "customer.login_failed",
            actor="anonymous",
            actor_label=email,
            target_type="customer",
            target_id=customer.id if customer else "",
            ip=ctx.ip,
        )
        raise LoginFailed("That e-mail and password don't match an account.")
    if needs_rehash(customer.password_hash):
        customer.password_hash = hash_password(password)
        await customer.save([Customer.password_hash])
    await ctx.limiter.reset(account_key, LOGIN_FAILURES_PER_ACCOUNT[1])
    return customer


async def log_in(ctx: AccountsContext, customer: Customer, *, remember: bool) -> str:
    """Start a fresh session (a new token: never one the browser held before) and return its token."""
    token, _ = await sessions.start_session(
        ctx.store, customer.id, remember=remember, ip=ctx.ip, user_agent=ctx.user_agent
    )
    customer.last_login_at = clock.now()
    await customer.save([Customer.last_login_at])
    await audit_customer(ctx, "customer.logged_in", customer)
    return token


async def rotate_session(ctx: AccountsContext, customer: Customer, old_token: str | None) -> str:
    """After a privilege change: end the browser's current session and start a new one with a new token."""
    remember = False
    if old_token:
        current = await sessions.resolve_session(ctx.store, old_token)
        remember = current.remember if current else False
        await sessions.end_session(ctx.store, old_token)
    return await log_in(ctx, customer, remember=remember)


async def log_out(ctx: AccountsContext, token: str | None) -> None:
    if token:
        await sessions.end_session(ctx.store, token)


async def end_other_sessions(ctx: AccountsContext, customer: Customer, *, keep_session_id: int | None) -> int:
    """'Log out everywhere else': end every session but the current one; returns how many ended."""
    ended = await sessions.end_sessions(ctx.store, customer.id, keep_session_id=keep_session_id)
    await audit_customer(ctx, "customer.sessions_ended", customer, after={"count": ended})
    return ended


async def end_one_session(ctx: AccountsContext, customer: Customer, session_id: int) -> None:
    """End one of the customer's own sessions (another customer's id ends nothing)."""
    if await sessions.end_sessions(ctx.store, customer.id, only_id=session_id):
        await audit_customer(ctx, "customer.session_ended", customer, after={"session": session_id})


async def update_profile(ctx: AccountsContext, customer: Customer, **fields: str) -> Customer:
    values = {key: value.strip() for key, value in fields.items()}
    problems: dict[str, str] = {}
    if not 0 < len(values.get("name", customer.name)) <= 200:
        problems["name"] = "Enter your name."
    if not is_country(values.get("country", customer.country)):
        problems["country"] = "Choose your country."
    for key in ("address_line1", "address_line2", "city", "postal_code", "region"):
        if len(values.get(key, "")) > 200:
            problems[key] = "That is too long."
    if problems:
        raise FormError(problems)
    allowed = {"name", "country", "address_line1", "address_line2", "city", "postal_code", "region"}
    before = {key: getattr(customer, key) for key in allowed & values.keys()}
    for key in allowed & values.keys():
        setattr(customer, key, values[key])
    customer.updated_at = clock.now()
    await customer.save()
    await audit_customer(ctx, "customer.profile_updated", customer, before=before, after={k: values[k] for k in before})
    return customer


async def change_password(ctx: AccountsContext, customer: Customer, *, current: str, new: str) -> str:
    """Change the password and end every other session; returns a fresh token for this browser."""
    if not verify_password(customer.password_hash, current):
        await audit_customer(ctx, "customer.password_change_failed", customer)
        raise FormError({"current_password": "That is not your current password."})
    await set_password(ctx, customer, new, field="new_password", action="customer.password_changed")
    return await log_in(ctx, customer, remember=False)


async def audit_customer(ctx: AccountsContext, action: str, customer: Customer, **extra: Any) -> None:
    """An audit entry about ``customer``, made by the customer from the request's address."""
    await record_audit(
        action,
        actor=actor_for_customer(customer.id),
        actor_label=customer.email,
        target_type="customer",
        target_id=customer.id,
        ip=ctx.ip,
        **extra,
    )


async def set_password(ctx: AccountsContext, customer: Customer, new: str, *, field: str, action: str) -> None:
    """Replace the password (after the policy check), end every session and tell the customer by mail."""
    if problem := password_problem(new, email=customer.email, name=customer.name):
        raise FormError({field: problem})
    customer.password_hash = hash_password(new)
    customer.updated_at = clock.now()
    await customer.save([Customer.password_hash, Customer.updated_at])
    await sessions.end_sessions(ctx.store, customer.id)
    await audit_customer(ctx, action, customer)
    await ctx.send(
        render_mail(
            "password_changed",
            customer.email,
            "Your password was changed",
            name=customer.name,
            site_name=ctx.settings.site_name,
            reset_link=ctx.link("/password-reset"),
        )
    )


async def request_email_change(ctx: AccountsContext, customer: Customer, *, new_email: str, password: str) -> None:
    new_email = normalise_email(new_email)
    if problem := _check_email(new_email):
        raise FormError({"new_email": problem})
    if new_email == customer.email:
        raise FormError({"new_email": "That is already your e-mail address."})
    if not verify_password(customer.password_hash, password):
        raise FormError({"password": "That is not your password."})
    if await Customer.exists().where(Customer.email == new_email):
        raise FormError({"new_email": "Another account uses this e-mail address."})
    await enforce_limit(ctx, f"email-change:customer:{customer.id}", (5, 3600))
    token = await issue_token(customer.id, AuthToken.Purpose.change_email, new_email=new_email)
    await ctx.send(
        render_mail(
            "confirm_email_change",
            new_email,
            "Confirm your new e-mail address",
            name=customer.name,
            link=ctx.link(f"/account/email/confirm?token={token}"),
            site_name=ctx.settings.site_name,
        )
    )


async def confirm_email_change(ctx: AccountsContext, token: str) -> Customer:
    used = await consume_token(token, AuthToken.Purpose.change_email)
    customer = await get_customer(used.customer)
    new_email = used.new_email or ""
    if await Customer.exists().where((Customer.email == new_email) & (Customer.id != customer.id)):
        raise FormError({"new_email": "Another account uses this e-mail address now."})
    old_email = customer.email
    customer.email = new_email
    customer.email_verified_at = clock.now()  # the link reached the new address: it is verified
    customer.updated_at = clock.now()
    await customer.save([Customer.email, Customer.email_verified_at, Customer.updated_at])
    await record_audit(
        "customer.email_changed",
        actor=actor_for_customer(customer.id),
        actor_label=new_email,
        target_type="customer",
        target_id=customer.id,
        before={"email": old_email},
        after={"email": new_email},
        ip=ctx.ip,
    )
    await ctx.send(
        render_mail(
            "email_changed",
            old_email,
            "Your e-mail address was changed",
            name=customer.name,
            new_email=new_email,
            site_name=ctx.settings.site_name,
        )
    )
    return customer


def ensure_can_pay(customer: Customer) -> None:
    """Payments need a verified e-mail: receipts and payment problems must reach the customer."""
    if customer.email_verified_at is None:
        raise EmailNotVerified("Confirm your e-mail address before you pay: we sent you a link.")
