"""Render e-mails from templates: ``portal_templates/mail/<name>.txt`` and ``.html`` (the HTML part optional).

Every e-mail ends with where to get help: the help centre, the contact page and the support address (settings).
The HTML part gets them from ``_base.html``, which every HTML mail extends; the text part gets ``_footer.txt``
appended here, so no text template can leave it out.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, TemplateNotFound, select_autoescape

from app.mail import OutgoingMail
from app.money import format_money
from app.settings import Settings, get_settings
from app.web import TEMPLATE_DIR

HELP_PATH = "/help"
CONTACT_PATH = "/contact"


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


def support_links(settings: Settings) -> dict[str, str]:
    """What every e-mail's footer links to."""
    return {
        "site_name": settings.site_name,
        "help_url": settings.base_url + HELP_PATH,
        "contact_url": settings.base_url + CONTACT_PATH,
        "support_email": settings.support.support_email,
    }


def render_mail(template: str, to: str, subject: str, **context: Any) -> OutgoingMail:
    env = _environment()
    context = {**support_links(get_settings()), "subject": subject, **context}
    text = env.get_template(f"{template}.txt").render(context).rstrip("\n")
    text += "\n\n" + env.get_template("_footer.txt").render(context)
    try:
        html: str | None = env.get_template(f"{template}.html").render(context)
    except TemplateNotFound:
        html = None
    return OutgoingMail(to=to, subject=subject, text=text, html=html, tag=template)
