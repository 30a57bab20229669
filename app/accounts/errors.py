from __future__ import annotations

from collections.abc import Mapping

from app.errors import DomainError, InvalidInput, RateLimited


class FormError(InvalidInput):
    """Input a person typed is not acceptable; ``fields`` says what is wrong with which field."""

    code = "invalid_form"

    def __init__(self, fields: Mapping[str, str], detail: str = "Please correct the marked fields.") -> None:
        super().__init__(detail, extra={"fields": dict(fields)})
        self.fields = dict(fields)


class LoginFailed(DomainError):
    status = 400
    code = "login_failed"


class TooManyAttempts(RateLimited):
    def __init__(self, retry_after_s: int) -> None:
        minutes = max(1, -(-retry_after_s // 60))
        unit = "minute" if minutes == 1 else "minutes"
        super().__init__(f"Too many attempts. Try again in {minutes} {unit}.", extra={"retry_after": retry_after_s})
        self.retry_after_s = retry_after_s


class EmailNotVerified(DomainError):
    status = 403
    code = "email_not_verified"
