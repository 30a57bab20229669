"""Sign-up, e-mail verification, log-in (with the second factor), log-out and password reset pages."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import FromQuery
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template

from app.accounts import recovery, service, sessions, twofactor
from app.accounts.auth import accounts_context, cleared_cookie, safe_next, session_cookie
from app.accounts.errors import FormError, LoginFailed, TooManyAttempts
from app.accounts.forms import form_page
from app.accounts.tokens import TokenInvalid
from app.web import AnyRequest, Form, see_other


class AuthPortal(Controller):
    include_in_schema = False

    @get("/register", name="register")
    async def register_page(self, request: AnyRequest) -> Template | Redirect:
        if request.state.customer_session:
            return see_other("/account")
        return form_page("accounts/register.html", {"country": "US"})

    @post("/register")
    async def register(self, request: AnyRequest, data: Form) -> Template | Redirect:
        ctx = accounts_context(request)
        try:
            customer = await service.register(
                ctx,
                email=data.get("email", ""),
                password=data.get("password", ""),
                name=data.get("name", ""),
                country=data.get("country", ""),
            )
        except (FormError, TooManyAttempts) as error:
            return form_page("accounts/register.html", data, error)
        token = await service.log_in(ctx, customer, remember=False)
        flash(request, f"Welcome! We sent a confirmation link to {customer.email}.", category="success")
        return see_other("/account", cookies=[session_cookie(request, token, remember=False)])

    @get("/verify-email", name="verify-email")
    async def verify_email(self, request: AnyRequest, token: FromQuery[str] = "") -> Template | Redirect:
        try:
            customer = await service.verify_email(accounts_context(request), token)
        except TokenInvalid as error:
            return Template("accounts/link_invalid.html", context={"detail": error.detail}, status_code=400)
        flash(request, f"Thanks: {customer.email} is confirmed.", category="success")
        return see_other("/account" if request.state.customer_session else "/login")

    @get("/login", name="login")
    async def login_page(self, request: AnyRequest) -> Template | Redirect:
        target = safe_next(request.query_params.get("next"))
        if request.state.customer_session:
            return see_other(target)
        return form_page("accounts/login.html", {"next": target})

    @post("/login")
    async def login(self, request: AnyRequest, data: Form) -> Template | Redirect:
        ctx = accounts_context(request)
        remember = data.get("remember") == "on"
        target = safe_next(data.get("next"))
        try:
            customer = await service.check_password(ctx, data.get("email", ""), data.get("password", ""))
        except (LoginFailed, TooManyAttempts) as error:
            return form_page("accounts/login.html", data, error)
        if twofactor.is_enabled(customer):
            pending = await sessions.start_pending_login(ctx.store, customer.id, remember=remember)
            cookie = session_cookie(request, pending, remember=False)
            cookie.key = sessions.PENDING_COOKIE
            return see_other(f"/login/2fa?next={target}", cookies=[cookie])
        token = await service.log_in(ctx, customer, remember=remember)
        return see_other(target, cookies=[session_cookie(request, token, remember=remember)])

    @get("/login/2fa", name="login-2fa")
    async def second_factor_page(self, request: AnyRequest) -> Template | Redirect:
        if not request.cookies.get(sessions.PENDING_COOKIE):
            return see_other("/login")
        return form_page("accounts/login_2fa.html", {"next": safe_next(request.query_params.get("next"))})

    @post("/login/2fa")
    async def second_factor(self, request: AnyRequest, data: Form) -> Template | Redirect:
        ctx = accounts_context(request)
        pending_token = request.cookies.get(sessions.PENDING_COOKIE, "")
        pending = await sessions.get_pending_login(ctx.store, pending_token) if pending_token else None
        if pending is None:
            flash(request, "That took too long: log in again.", category="warning")
            return see_other("/login")
        customer = await service.get_customer(pending.customer_id)
        try:
            await twofactor.verify_second_factor(ctx, customer, data.get("code", ""))
        except (FormError, TooManyAttempts) as error:
            return form_page("accounts/login_2fa.html", data, error)
        await sessions.end_pending_login(ctx.store, pending_token)
        token = await service.log_in(ctx, customer, remember=pending.remember)
        cookies = [
            session_cookie(request, token, remember=pending.remember),
            cleared_cookie(request, sessions.PENDING_COOKIE),
        ]
        return see_other(safe_next(data.get("next")), cookies=cookies)

    @post("/logout", name="logout")
    async def logout(self, request: AnyRequest) -> Redirect:
        await service.log_out(accounts_context(request), request.cookies.get(sessions.AUTH_COOKIE))
        flash(request, "You are logged out.", category="success")
        return see_other("/", cookies=[cleared_cookie(request, sessions.AUTH_COOKIE)])

    @get("/password-reset", name="password-reset")
    async def reset_page(self) -> Template:
        return form_page("accounts/password_reset.html")

    @post("/password-reset")
    async def reset_request(self, request: AnyRequest, data: Form) -> Template:
        try:
            await recovery.request_password_reset(accounts_context(request), data.get("email", ""))
        except TooManyAttempts as error:
            return form_page("accounts/password_reset.html", data, error)
        # The same answer whether or not the address has an account.
        return Template("accounts/password_reset_sent.html", context={"email": data.get("email", "")})

    @get("/password-reset/confirm", name="password-reset-confirm")
    async def reset_confirm_page(self, token: FromQuery[str] = "") -> Template:
        return form_page("accounts/password_reset_confirm.html", {"token": token})

    @post("/password-reset/confirm")
    async def reset_confirm(self, request: AnyRequest, data: Form) -> Template | Redirect:
        try:
            await recovery.reset_password(accounts_context(request), data.get("token", ""), data.get("password", ""))
        except FormError as error:
            return form_page("accounts/password_reset_confirm.html", data, error)
        except TokenInvalid as error:
            return Template("accounts/link_invalid.html", context={"detail": error.detail}, status_code=400)
        flash(request, "Your password is changed. Log in with it now.", category="success")
        return see_other("/login", cookies=[cleared_cookie(request, sessions.AUTH_COOKIE)])
