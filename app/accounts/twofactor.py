"""Optional TOTP two-factor authentication with one-time recovery codes."""

from __future__ import annotations

import pyotp

from app import clock
from app.accounts import totp
from app.accounts.errors import FormError
from app.accounts.passwords import verify_password
from app.accounts.service import AccountsContext, audit_customer, enforce_limit, get_customer
from app.db import write_transaction
from app.errors import Conflict
from app.mail_templates import render_mail
from tables.accounts import Customer, RecoveryCode

SECOND_FACTOR_PER_ACCOUNT = (5, 300)
STEP_SECONDS = 30


def is_enabled(customer: Customer) -> bool:
    return customer.totp_enabled_at is not None and bool(customer.totp_secret)


async def begin_setup(customer: Customer) -> tuple[str, str, str]:
    """A new secret (kept unconfirmed until a code proves the app has it): (secret, otpauth URI, QR SVG)."""
    if is_enabled(customer):
        raise FormError({"code": "Two-factor authentication is on already."})
    secret = totp.new_secret()
    customer.totp_secret = secret
    customer.totp_enabled_at = None
    await customer.save([Customer.totp_secret, Customer.totp_enabled_at])
    uri = totp.provisioning_uri(secret, customer.email)
    return secret, uri, totp.qr_svg(uri)


def _accepted_step(secret: str, code: str, last_step: int | None) -> int | None:
    """The time step ``code`` belongs to, if it is valid now and newer than the last one used (no replay)."""
    digits = "".join(ch for ch in code if ch.isdigit())
    if len(digits) != 6:
        return None
    generator = pyotp.TOTP(secret)
    now_step = int(clock.now().timestamp()) // STEP_SECONDS
    for step in (now_step - 1, now_step, now_step + 1):
        if generator.at(step * STEP_SECONDS) == digits and (last_step is None or step > last_step):
            return step
    return None


async def confirm_setup(ctx: AccountsContext, customer: Customer, code: str) -> list[str]:
    """Turn 2FA on once a code from the app matches; returns the recovery codes, shown only this once."""
    if not customer.totp_secret or is_enabled(customer):
        raise FormError({"code": "Start the set-up again."})
    await enforce_limit(ctx, f"2fa:account:{customer.id}", SECOND_FACTOR_PER_ACCOUNT)
    step = _accepted_step(customer.totp_secret, code, None)
    if step is None:
        raise FormError({"code": "That code doesn't match. Check the time on your phone and try the newest code."})
    codes = totp.new_recovery_codes()
    async with write_transaction():
        customer.totp_enabled_at = clock.now()
        customer.totp_last_step = step
        await customer.save([Customer.totp_enabled_at, Customer.totp_last_step])
        await RecoveryCode.delete().where(RecoveryCode.customer == customer.id)
        await RecoveryCode.insert(
            *[RecoveryCode(customer=customer.id, code_hash=totp.hash_recovery_code(c)) for c in codes]
        )
        await audit_customer(ctx, "customer.2fa_enabled", customer)
    return codes


async def verify_second_factor(ctx: AccountsContext, customer: Customer, code: str) -> None:
    """Accept a current TOTP code (each works once) or an unused recovery code, else FormError."""
    await enforce_limit(ctx, f"2fa:account:{customer.id}", SECOND_FACTOR_PER_ACCOUNT)
    assert customer.totp_secret is not None  # noqa: S101 - only called for customers with 2FA on
    step = _accepted_step(customer.totp_secret, code, customer.totp_last_step)
    if step is not None:
        # Conditional update: of two requests racing with the same code, one wins.
        won = (
            await Customer.update({Customer.totp_last_step: step})
            .where(
                (Customer.id == customer.id) & ((Customer.totp_last_step < step) | Customer.totp_last_step.is_null())
            )
            .returning(Customer.id)
        )
        if won:
            return
    used = (
        await RecoveryCode.update({RecoveryCode.used_at: clock.now()})
        .where(
            (RecoveryCode.customer == customer.id)
            & (RecoveryCode.code_hash == totp.hash_recovery_code(code))
            & RecoveryCode.used_at.is_null()
        )
        .returning(RecoveryCode.id)
    )
    if used:
        await audit_customer(ctx, "customer.recovery_code_used", customer)
        return
    await audit_customer(ctx, "customer.2fa_failed", customer)
    raise FormError({"code": "That code doesn't match. Try the newest code from your app, or a recovery code."})


async def disable(ctx: AccountsContext, customer: Customer, password: str) -> None:
    """Turn 2FA off after re-entering the password (the caller rotates the session: a privilege change)."""
    if not verify_password(customer.password_hash, password):
        raise FormError({"password": "That is not your password."})
    await _turn_off(customer)
    await audit_customer(ctx, "customer.2fa_disabled", customer)


async def reset_by_staff(ctx: AccountsContext, customer_id: int) -> Customer:
    """Staff: turn 2FA off for a customer who lost their authenticator and recovery codes (the password alone
    logs them in again; they can enrol anew). The customer is told by e-mail, so a reset they did not ask for
    does not go unnoticed."""
    customer = await get_customer(customer_id)
    if not is_enabled(customer):
        raise Conflict(f"{customer.email} has no two-factor authentication on.", code="two_factor_off")
    await _turn_off(customer)
    await ctx.send(
        render_mail(
            "two_factor_reset",
            customer.email,
            f"Two-factor authentication is off on your {ctx.settings.site_name} account",
            name=customer.name,
            site_name=ctx.settings.site_name,
            security_link=ctx.link("/account/security"),
            reset_link=ctx.link("/password-reset"),
        )
    )
    return customer


async def _turn_off(customer: Customer) -> None:
    async with Customer._meta.db.transaction():
        customer.totp_secret = None
        customer.totp_enabled_at = None
        customer.totp_last_step = None
        await customer.save([Customer.totp_secret, Customer.totp_enabled_at, Customer.totp_last_step])
        await RecoveryCode.delete().where(RecoveryCode.customer == customer.id)
