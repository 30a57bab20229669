"""Password reset by e-mailed link: single use, expires in an hour, and never reveals whether an account
exists (the same answer, and a mail only when there is an account)."""

from __future__ import annotations

from app.accounts.errors import FormError
from app.accounts.passwords import password_problem
from app.accounts.service import AccountsContext, enforce_limit, get_customer, normalise_email, set_password
from app.accounts.tokens import consume_token, issue_token, token_hash
from app.audit.service import record_audit
from app.mail_templates import render_mail
from tables.accounts import AuthToken, Customer

RESETS_PER_IP = (10, 3600)
RESETS_PER_EMAIL = (3, 3600)


async def request_password_reset(ctx: AccountsContext, email: str) -> None:
    email = normalise_email(email)
    await enforce_limit(ctx, f"reset:ip:{ctx.ip}", RESETS_PER_IP)
    await enforce_limit(ctx, f"reset:email:{email}", RESETS_PER_EMAIL)
    customer = await Customer.objects().get((Customer.email == email) & (Customer.status == Customer.Status.active))
    if customer is None:
        return
    await record_audit(
        "customer.password_reset_requested",
        actor="anonymous",
        actor_label=email,
        target_type="customer",
        target_id=customer.id,
        ip=ctx.ip,
    )
    await _send_reset_link(ctx, customer)


async def send_reset_link(ctx: AccountsContext, customer_id: int) -> Customer:
    """Staff: mail the customer the same single-use, one-hour reset link they could ask for themselves (staff
    never see it, nor set a password)."""
    customer = await get_customer(customer_id)
    await enforce_limit(ctx, f"reset:email:{customer.email}", RESETS_PER_EMAIL)
    await _send_reset_link(ctx, customer)
    return customer


async def _send_reset_link(ctx: AccountsContext, customer: Customer) -> None:
    token = await issue_token(customer.id, AuthToken.Purpose.reset_password)
    await ctx.send(
        render_mail(
            "reset_password",
            customer.email,
            f"Reset your {ctx.settings.site_name} password",
            name=customer.name,
            link=ctx.link(f"/password-reset/confirm?token={token}"),
            site_name=ctx.settings.site_name,
        )
    )


async def reset_password(ctx: AccountsContext, token: str, new_password: str) -> Customer:
    """Set a new password from a reset link; every session of the account ends."""
    # Check the password before spending the single-use token, so a weak choice can be corrected.
    used_preview = await AuthToken.objects().get(AuthToken.token_hash == token_hash(token))
    if used_preview is not None:
        owner = await Customer.objects().get(Customer.id == used_preview.customer)
        if owner is not None and (problem := password_problem(new_password, email=owner.email, name=owner.name)):
            raise FormError({"password": problem})
    used = await consume_token(token, AuthToken.Purpose.reset_password)
    customer = await get_customer(used.customer)
    await set_password(ctx, customer, new_password, field="password", action="customer.password_reset")
    return customer
