"""Staff actions on customer accounts (admin forms, Customers group): resend the e-mail confirmation link, send a
password-reset link, reset two-factor authentication.

Staff never see a link or set a password: the customer receives the same single-use links the portal sends
(``app.accounts``). Resetting 2FA is audited with its reason and the customer is told by e-mail. Support staff
and superusers only.
"""

from __future__ import annotations

from piccolo_admin.endpoints import FormConfig
from pydantic import BaseModel, Field
from starlette.requests import Request

from app.accounts import recovery, twofactor
from app.accounts import service as accounts
from app.admin_actions import StaffRequest, explained, form_group
from app.admin_permissions import StaffAction, require_action
from app.audit.service import record_audit

FORM_GROUP = "Customers"


class CustomerForm(BaseModel):
    customer_id: int = Field(description="The customer's id (Customers -> customer).")


class ResetTwoFactorForm(BaseModel):
    customer_id: int
    reason: str = Field(
        min_length=1, max_length=500, description="How the customer's identity was checked, and why: for the audit log."
    )


async def resend_verification(request: Request, data: CustomerForm) -> str:
    await require_action(request, StaffAction.accounts)
    staff = StaffRequest.of(request)
    with explained():
        customer = await accounts.send_verification(staff.accounts(), data.customer_id)
    await _audit(staff, "customer.verification_resent", data.customer_id)
    return f"A new confirmation link is on its way to {customer.email} (it works for two days)."


async def send_password_reset_link(request: Request, data: CustomerForm) -> str:
    await require_action(request, StaffAction.accounts)
    staff = StaffRequest.of(request)
    with explained():
        customer = await recovery.send_reset_link(staff.accounts(), data.customer_id)
    await _audit(staff, "customer.password_reset_link_sent", data.customer_id)
    return f"A password-reset link is on its way to {customer.email} (it works once, for an hour)."


async def reset_two_factor(request: Request, data: ResetTwoFactorForm) -> str:
    await require_action(request, StaffAction.accounts)
    staff = StaffRequest.of(request)
    with explained():
        customer = await twofactor.reset_by_staff(staff.accounts(), data.customer_id)
    await _audit(staff, "customer.2fa_reset", data.customer_id, reason=data.reason)
    return f"Two-factor authentication is off for {customer.email}; they were told by e-mail and can enrol again."


async def _audit(staff: StaffRequest, action: str, customer_id: int, **after: object) -> None:
    await record_audit(action, **staff.actor, target_type="customer", target_id=customer_id, after=after)


def account_forms() -> list[FormConfig]:
    return form_group(
        FORM_GROUP,
        ("Resend the confirmation e-mail", CustomerForm, resend_verification,
         "Send a customer whose e-mail address is not confirmed yet a new confirmation link."),
        ("Send a password-reset link", CustomerForm, send_password_reset_link,
         "E-mail the customer the one-hour reset link the log-in page would send them."),
        ("Reset two-factor authentication", ResetTwoFactorForm, reset_two_factor,
         "For a customer who lost their authenticator and recovery codes: turn 2FA off; they are told by e-mail."),
    )  # fmt: skip
