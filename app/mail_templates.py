"""Render e-mails from templates: ``portal_templates/mail/<name>.txt`` and ``.html`` (the HTML part optional)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, TemplateNotFound, select_autoescape

from app.mail import OutgoingMail
from app.money import format_money
from app.web import TEMPLATE_DIR


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR / "mail"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = format_money
    return env


def render_mail(template: str, to: str, subject: str, **context: Any) -> OutgoingMail:
    env = _environment()
    context = {"subject": subject, **context}
    text = env.get_template(f"{template}.txt").render(context)
    try:
        html: str | None = env.get_template(f"{template}.html").render(context)
    except TemplateNotFound:
        html = None
    return OutgoingMail(to=to, subject=subject, text=text, html=html, tag=template)
