"""Rendering forms back with their errors and what the person typed (never passwords)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from litestar.response import Template

from app.accounts.countries import countries
from app.errors import DomainError

SECRET_FIELDS = {"password", "current_password", "new_password", "code"}


def form_page(
    template: str,
    values: Mapping[str, str] | None = None,
    error: DomainError | None = None,
    *,
    status: int | None = None,
    **context: Any,
) -> Template:
    kept = {key: value for key, value in (values or {}).items() if key not in SECRET_FIELDS}
    fields = getattr(error, "fields", {}) if error else {}
    form_error = error.detail if error and not fields else ("Please correct the marked fields." if fields else "")
    return Template(
        template,
        context={"values": kept, "errors": fields, "form_error": form_error, "countries": countries(), **context},
        status_code=status or (error.status if error else 200),
    )
