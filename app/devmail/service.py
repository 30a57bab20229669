from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

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
    )


def list_mail(outbox: Path) -> list[StoredMail]:
    if not outbox.is_dir():
        return []
    names = sorted((p for p in outbox.iterdir() if _NAME.match(p.name)), reverse=True)[:MAX_LISTED]
    return [_read(p) for p in names]


def get_mail(outbox: Path, name: str) -> StoredMail:
    # The name pattern admits no separators, so a request cannot leave the outbox folder.
    if not _NAME.match(name) or not (outbox / name).is_file():
        raise NotFound("No such message in the outbox.", code="mail_not_found")
    return _read(outbox / name)
