"""Every e-mail, text and HTML part, ends with the help centre, the contact page and the support address."""

from __future__ import annotations

import pytest

from app.mail_templates import render_mail
from app.settings import get_settings
from app.web import TEMPLATE_DIR

MAIL_DIR = TEMPLATE_DIR / "mail"
TEMPLATES = sorted(p.stem for p in MAIL_DIR.glob("*.txt") if not p.name.startswith("_"))
# What the mails' own variables need to render (anything left out renders empty).
SAMPLE = {"name": "Ada", "amount_minor": 900, "currency": "USD", "number": "INV-2026-000001", "news": [],
          "old_amount_minor": 700, "old_currency": "USD"}  # fmt: skip


def test_every_html_mail_has_a_text_part() -> None:
    html = {p.stem for p in MAIL_DIR.glob("*.html") if not p.name.startswith("_")}
    assert TEMPLATES and html <= set(TEMPLATES)


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_mail_links_to_help_and_contact(template: str) -> None:
    settings = get_settings()
    mail = render_mail(template, "ada@example.com", "Subject", **SAMPLE)
    help_url, contact_url = settings.base_url + "/help", settings.base_url + "/contact"
    address = settings.support.support_email
    text = mail.text.split("\n--\n")[-1]
    assert help_url in text and contact_url in text and address in text, mail.text
    if (MAIL_DIR / f"{template}.html").exists():
        assert mail.html is not None
        assert f'<a href="{help_url}">' in mail.html and f'<a href="{contact_url}">' in mail.html
        assert f'<a href="mailto:{address}">{address}</a>' in mail.html
