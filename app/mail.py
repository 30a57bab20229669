"""Outgoing e-mail: a message type, and two transports chosen by settings.

With SMTP_URL (smtp://user:pass@host:port, smtps:// for implicit TLS, ``?starttls=1`` to upgrade) mail goes
out through aiosmtplib. Without it, mail is written as .eml files to the local outbox that /dev/mail shows.
Mail is sent by the ``send_email`` job, never inside a request or a database transaction.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib
import anyio

from app import clock
from app.settings import MailSettings

SMTP_TIMEOUT_S = 15


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    to: str
    subject: str
    text: str
    html: str | None = None
    tag: str = ""  # what kind of mail this is (verify_email, receipt, ...), kept in a header for tests and logs
    # Conversation headers (support replies): where answers go, and how mail clients thread the messages.
    reply_to: str = ""
    message_id: str = ""  # empty: a fresh one
    in_reply_to: str = ""
    references: str = ""

    def to_job(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_job(cls, data: dict[str, Any]) -> OutgoingMail:
        return cls(**data)


def build_message(mail: OutgoingMail, from_address: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = from_address
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(clock.now())
    message["Message-ID"] = mail.message_id or make_msgid(domain="recurra.localhost")
    threading = {"Reply-To": mail.reply_to, "In-Reply-To": mail.in_reply_to, "References": mail.references}
    for name, value in threading.items():
        if value:
            message[name] = value
    if mail.tag:
        message["X-Recurra-Tag"] = mail.tag
    message.set_content(mail.text)
    if mail.html:
        message.add_alternative(mail.html, subtype="html")
    return message


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


class SmtpMailer:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        options = parse_qs(parts.query)
        self.hostname = parts.hostname or "localhost"
        self.use_tls = parts.scheme == "smtps"
        self.port = parts.port or (465 if self.use_tls else 25)
        self.start_tls = options.get("starttls", ["0"])[0] in {"1", "true", "yes"}
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None

    async def send(self, message: EmailMessage) -> None:
        await aiosmtplib.send(
            message,
            hostname=self.hostname,
            port=self.port,
            username=self.username,
            password=self.password,
            use_tls=self.use_tls,
            start_tls=self.start_tls,
            timeout=SMTP_TIMEOUT_S,
        )


class OutboxMailer:
    """Development only: keeps each message as an .eml file (newest sorts last)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def send(self, message: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{clock.now():%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.eml"
        temporary = self.directory / f".{name}.tmp"
        await anyio.Path(temporary).write_bytes(bytes(message))
        os.replace(temporary, self.directory / name)  # atomic: /dev/mail never reads half a message


def mailer_for(settings: MailSettings) -> Mailer:
    if settings.smtp_url:
        return SmtpMailer(settings.smtp_url)
    return OutboxMailer(settings.outbox_dir)
