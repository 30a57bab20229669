"""Rendering a staff page: the staff layout's context (who is signed in, their menu) beside the page's own."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from litestar.response import Template

from app.staff.auth import staff_of
from app.staff.nav import nav_for
from app.web import AnyRequest, app_settings


def desk_zone(request: AnyRequest) -> ZoneInfo:
    """Staff read times on the desk's clock (the one its business hours are kept in)."""
    return ZoneInfo(app_settings(request).sla.timezone)


def staff_page(
    request: AnyRequest,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Template:
    member = staff_of(request)
    layout = {
        "staff": member,
        "nav": nav_for(member),
        "current_path": request.url.path,
        "desk_zone": desk_zone(request),
    }
    return Template(template, context={**layout, **context}, status_code=status_code, headers=headers)
