from __future__ import annotations

from dataclasses import replace

import httpx

from app.mail import OutboxMailer, OutgoingMail, build_message
from app.main import create_app
from app.settings import Settings
from tests.integration.conftest import asgi_client


async def test_dev_mail_lists_and_shows_outbox_messages(settings: Settings) -> None:
    settings = replace(settings, mail=replace(settings.mail, smtp_url=None))
    async with asgi_client(create_app(settings)) as client:
        await _check_outbox_pages(client, settings)


async def _check_outbox_pages(client: httpx.AsyncClient, settings: Settings) -> None:
    mail = OutgoingMail(to="grace@example.com", subject="Verify your e-mail", text="Open http://x/verify?t=1",
                        html="<p><a href='http://x/verify?t=1'>Verify</a></p>", tag="verify_email")  # fmt: skip
    await OutboxMailer(settings.mail.outbox_dir).send(build_message(mail, settings.mail.from_address))
    listing = await client.get("/dev/mail/")
    assert listing.status_code == 200
    assert "Verify your e-mail" in listing.text
    assert "grace@example.com" in listing.text
    name = next(p.name for p in settings.mail.outbox_dir.glob("*.eml"))
    shown = await client.get(f"/dev/mail/{name}")
    assert shown.status_code == 200
    assert "http://x/verify?t=1" in shown.text
    html = await client.get(f"/dev/mail/{name}/html")
    assert "sandbox" in html.headers["content-security-policy"]
    assert (await client.get("/dev/mail/..%2Fsecret_key")).status_code == 404
    assert (await client.get("/dev/mail/20260101T000000000000-deadbeef.eml")).status_code == 404


async def test_dev_mail_is_absent_when_smtp_is_configured(client: httpx.AsyncClient) -> None:
    """The shared test app sends real mail over SMTP, so it has no outbox page."""
    assert (await client.get("/dev/mail/")).status_code == 404
