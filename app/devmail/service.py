from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from app import clock
from app.errors import NotFound

_NAME = re.compile(r"^[0-9T]+-[0-9a-f]{8}\.eml$")
MAX_LISTED = 200


@dataclass(frozen=True, slots=True)
class StoredMail:
    name: str
    to: str
    subject: str
    date: str
    tag: str
    text: str
    html: str | None
    sender: str = ""
    reply_to: str = ""
    message_id: str = ""
    references: str = ""

    @property
    def answer_to(self) -> str:
        """Where the recipient's mail client would send a reply."""
        return self.reply_to or self.sender


def _read(path: Path) -> StoredMail:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)  # noqa: S101 - the default policy always builds EmailMessage
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    return StoredMail(
        name=path.name,
        to=str(message["To"]),
        subject=str(message["Subject"]),
        date=str(message["Date"]),
        tag=str(message.get("X-Recurra-Tag", "")),
        text=text_part.get_content() if text_part else "",
        html=html_part.get_content() if html_part else None,
        sender=str(message.get("From", "")),
        reply_to=str(message.get("Reply-To", "")),
        message_id=str(message.get("Message-ID", "")),
        references=str(message.get("References", "")),
    )


def list_mail(outbox: Path) -> list[StoredMail]:
    if not outbox.is_dir():
        return []
    names = sorted((p for p in outbox.iterdir() if _NAME.match(p.name)), reverse=True)[:MAX_LISTED]
    return [_read(p) for p in names]


def reply_as_recipient(mail: StoredMail, body: str) -> EmailMessage:
    """The answer the mail's recipient would send from a common mail client: to its Reply-To, threaded by
    In-Reply-To/References, with the original quoted below an "On ... wrote:" line."""
    reply = EmailMessage()
    reply["From"] = mail.to
    reply["To"] = mail.answer_to
    reply["Subject"] = mail.subject if mail.subject.lower().startswith("re:") else f"Re: {mail.subject}"
    reply["Date"] = format_datetime(clock.now())
    reply["Message-ID"] = make_msgid(domain="devmail.localhost")
    if mail.message_id:
        reply["In-Reply-To"] = mail.message_id
        reply["References"] = f"{mail.references} {mail.message_id}".strip()
    quoted = "\n".join(f"> {line}" for line in mail.text.splitlines())
    reply.set_content(f"{body.strip()}\n\nOn {mail.date}, {mail.sender} wrote:\n{quoted}\n")
    return reply


def get_mail(outbox: Path, name: str) -> StoredMail:
    # The name pattern admits no separators, so a request cannot leave the outbox folder.
    if not _NAME.match(name) or not (outbox / name).is_file():
        raise NotFound("No such message in the outbox.", code="mail_not_found")
    return _read(outbox / name)
