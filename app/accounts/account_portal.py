"""The customer's own account pages: profile, e-mail, password, two-factor and sessions."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from litestar.di import Provide
from litestar.params import FromPath, FromQuery
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template

from app.accounts import service, sessions, totp, twofactor
from app.accounts.auth import CurrentCustomer, accounts_context, provide_customer, session_cookie
from app.accounts.errors import FormError, TooManyAttempts
from app.accounts.forms import form_page
from app.accounts.tokens import TokenInvalid
from app.web import AnyRequest, Form, see_other
from tables.accounts import Customer

PROFILE_FIELDS = ("name", "country", "address_line1", "address_line2", "city", "postal_code", "region")


def _profile_values(customer: Customer) -> dict[str, str]:
    return {key: getattr(customer, key) or "" for key in PROFILE_FIELDS}


async def _security_page(request: AnyRequest, customer: Customer, error: Any = None, values: Any = None) -> Template:
    current = request.state.customer_session
    return form_page(
        "accounts/security.html",
        values,
        error,
        customer=customer,
        two_factor=twofactor.is_enabled(customer),
        sessions=await sessions.list_sessions(customer.id),
        current_session_id=current.id if current else None,
    )


class AccountPortal(Controller):
    path = "/account"
    include_in_schema = False
    dependencies = {"customer": Provide(provide_customer)}

    @get("/", name="account")
    async def overview(self, customer: CurrentCustomer) -> Template:
        return form_page("accounts/account.html", _profile_values(customer), customer=customer)

    @post("/profile")
    async def profile(self, request: AnyRequest, customer: CurrentCustomer, data: Form) -> Template | Redirect:
        try:
            await service.update_profile(
                accounts_context(request), customer, **{k: data.get(k, "") for k in PROFILE_FIELDS}
            )
        except FormError as error:
            return form_page("accounts/account.html", data, error, customer=customer)
        flash(request, "Your details are saved.", category="success")
        return see_other("/account")

    @post("/verify-email/resend")
    async def resend_verification(self, request: AnyRequest, customer: CurrentCustomer) -> Template | Redirect:
        try:
            await service.resend_verification(accounts_context(request), customer)
        except TooManyAttempts as error:
            return form_page("accounts/account.html", _profile_values(customer), error, customer=customer)
        flash(request, f"We sent a new confirmation link to {customer.email}.", category="success")
        return see_other("/account")

    @post("/email")
    async def change_email(self, request: AnyRequest, customer: CurrentCustomer, data: Form) -> Template | Redirect:
        try:
            await service.request_email_change(
                accounts_context(request),
                customer,
                new_email=data.get("new_email", ""),
                password=data.get("password", ""),
            )
        except (FormError, TooManyAttempts) as error:
            values = {**_profile_values(customer), **data}
            return form_page("accounts/account.html", values, error, customer=customer)
        flash(
            request,
            f"We sent a link to {data.get('new_email', '').strip()}: open it to confirm the change.",
            category="success",
        )
        return see_other("/account")

    @get("/email/confirm", name="confirm-email-change")
    async def confirm_email(
        self, request: AnyRequest, customer: CurrentCustomer, token: FromQuery[str] = ""
    ) -> Template | Redirect:
        try:
            changed = await service.confirm_email_change(accounts_context(request), token)
        except (TokenInvalid, FormError) as error:
            return Template("accounts/link_invalid.html", context={"detail": error.detail}, status_code=400)
        flash(request, f"Your e-mail address is now {changed.email}.", category="success")
        return see_other("/account")

    @get("/security", name="account-security")
    async def security_page(self, request: AnyRequest, customer: CurrentCustomer) -> Template:
        return await _security_page(request, customer)

    @post("/password")
    async def change_password(self, request: AnyRequest, customer: CurrentCustomer, data: Form) -> Template | Redirect:
        try:
            token = await service.change_password(
                accounts_context(request),
                customer,
                current=data.get("current_password", ""),
                new=data.get("new_password", ""),
            )
        except FormError as error:
            return await _security_page(request, customer, error, data)
        flash(request, "Your password is changed. Other devices were logged out.", category="success")
        return see_other("/account/security", cookies=[session_cookie(request, token, remember=False)])

    @post("/2fa/setup")
    async def begin_two_factor(self, customer: CurrentCustomer) -> Template:
        secret, uri, svg = await twofactor.begin_setup(customer)
        return form_page("accounts/twofactor_setup.html", secret=secret, uri=uri, qr_svg=svg)

    @post("/2fa/confirm")
    async def confirm_two_factor(self, request: AnyRequest, customer: CurrentCustomer, data: Form) -> Template:
        ctx = accounts_context(request)
        try:
            codes = await twofactor.confirm_setup(ctx, customer, data.get("code", ""))
        except (FormError, TooManyAttempts) as error:
            secret = customer.totp_secret or ""
            uri = totp.provisioning_uri(secret, customer.email)
            return form_page(
                "accounts/twofactor_setup.html", data, error, secret=secret, uri=uri, qr_svg=totp.qr_svg(uri)
            )
        token = await service.rotate_session(ctx, customer, request.cookies.get(sessions.AUTH_COOKIE))
        current = await sessions.resolve_session(ctx.store, token)
        page = Template("accounts/recovery_codes.html", context={"codes": codes})
        page.cookies.append(session_cookie(request, token, remember=bool(current and current.remember)))
        return page

    @post("/2fa/disable")
    async def disable_two_factor(
        self, request: AnyRequest, customer: CurrentCustomer, data: Form
    ) -> Template | Redirect:
        ctx = accounts_context(request)
        try:
            await twofactor.disable(ctx, customer, data.get("password", ""))
        except FormError as error:
            return await _security_page(request, customer, error, data)
        token = await service.rotate_session(ctx, customer, request.cookies.get(sessions.AUTH_COOKIE))
        flash(request, "Two-factor authentication is off.", category="warning")
        return see_other("/account/security", cookies=[session_cookie(request, token, remember=False)])

    @post("/sessions/{session_id:int}/end")
    async def end_one_session(
        self, request: AnyRequest, customer: CurrentCustomer, session_id: FromPath[int]
    ) -> Redirect:
        await service.end_one_session(accounts_context(request), customer, session_id)
        flash(request, "That session is logged out.", category="success")
        return see_other("/account/security")

    @post("/sessions/end-others")
    async def end_other_sessions(self, request: AnyRequest, customer: CurrentCustomer) -> Redirect:
        current = request.state.customer_session
        ended = await service.end_other_sessions(
            accounts_context(request), customer, keep_session_id=current.id if current else None
        )
        flash(request, f"Logged out everywhere else ({ended} session{'s' if ended != 1 else ''}).", category="success")
        return see_other("/account/security")
