"""Ticket attachments: what may be attached (judged by the bytes, never by the name) and where files live.

A file's type is read from its first bytes (its "magic"): PNG, JPEG, GIF and WebP images, PDF documents and
plain UTF-8 text. Anything else (HTML, SVG, scripts, archives, executables) is refused, whatever its name says,
and a name whose extension does not match the bytes gets the right one appended (``notes.html`` holding text
is kept as ``notes.html.txt``). Files are stored under SUPPORT_ATTACHMENTS_DIR with a random key through the
content domain's ``MediaStorage`` interface; the portal serves them only to the ticket's owner and support
staff, always as a download (``Content-Disposition: attachment``, ``nosniff``).
"""

from __future__ import annotations

import codecs
import re
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from app.content.storage import LocalMediaStorage, MediaNotFound
from app.settings import SupportSettings

MAX_ATTACHMENTS = 3  # a message's files at most

# (content type, canonical extension, other extensions that name it honestly)
_KINDS = {
    "image/png": ("png", ()),
    "image/jpeg": ("jpg", ("jpeg", "jpe")),
    "image/gif": ("gif", ()),
    "image/webp": ("webp", ()),
    "application/pdf": ("pdf", ()),
    "text/plain": ("txt", ("text", "log", "csv", "md")),
}
ALLOWED_TYPES = frozenset(_KINDS)
# Text may hold tabs, line breaks and form feeds; any other control character means "not text".
_NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_UNSAFE_NAME = re.compile(r"[^\w .()+-]")
TEXT_SNIFF_BYTES = 64 * 1024


def sniff(data: bytes) -> str | None:
    """The content type the bytes themselves declare, among the allowed ones; None for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    return "text/plain" if _is_text(data) else None


def _is_text(data: bytes) -> bool:
    head = data[:TEXT_SNIFF_BYTES].removeprefix(b"\xef\xbb\xbf")
    try:
        # Not final when the window cut the file: a character split at the window's edge is still text.
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=len(data) <= TEXT_SNIFF_BYTES)
    except UnicodeDecodeError:
        return False
    return bool(text) and not _NOT_TEXT.search(text)


def clean_filename(name: str, content_type: str) -> str:
    """A name safe to show and to put in a Content-Disposition header, ending in an extension that fits the
    bytes. It is never used on disk."""
    base = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1])
    base = _UNSAFE_NAME.sub("_", base).strip(" .")[:100] or "attachment"
    canonical, others = _KINDS[content_type]
    stem, dot, extension = base.rpartition(".")
    if not (dot and stem and extension.lower() in (canonical, *others)):
        base = f"{base}.{canonical}"
    return base


@dataclass(frozen=True, slots=True)
class Upload:
    """A file as it arrived (a form field or an e-mail part)."""

    filename: str
    data: bytes


@dataclass(frozen=True, slots=True)
class CheckedFile:
    filename: str
    content_type: str
    data: bytes

    @property
    def extension(self) -> str:
        return _KINDS[self.content_type][0]


def check(upload: Upload, max_bytes: int) -> CheckedFile | str:
    """The file, accepted, or the reason it is refused (said to the customer)."""
    shown = upload.filename or "A file"
    if not upload.data:
        return f"{shown} is empty."
    if len(upload.data) > max_bytes:
        size, limit = len(upload.data) / 1024 / 1024, max_bytes // 1024 // 1024
        return f"{shown} is {size:.1f} MB; files are limited to {limit} MB."
    content_type = sniff(upload.data)
    if content_type is None:
        return f"{shown} is not a kind of file we accept (images, PDF or plain text)."
    return CheckedFile(clean_filename(upload.filename, content_type), content_type, upload.data)


def check_all(uploads: Sequence[Upload], max_bytes: int) -> tuple[list[CheckedFile], list[str]]:
    """Accepted files (at most MAX_ATTACHMENTS) and the reasons for every one refused."""
    kept: list[CheckedFile] = []
    refused: list[str] = []
    for upload in uploads:
        if len(kept) == MAX_ATTACHMENTS:
            refused.append(f"{upload.filename or 'A file'}: at most {MAX_ATTACHMENTS} files a message.")
            continue
        outcome = check(upload, max_bytes)
        if isinstance(outcome, str):
            refused.append(outcome)
        else:
            kept.append(outcome)
    return kept, refused


class AttachmentStore:
    """Ticket files on local disk (SUPPORT_ATTACHMENTS_DIR), under random keys."""

    def __init__(self, settings: SupportSettings) -> None:
        self.storage = LocalMediaStorage(settings.attachments_dir)

    async def save(self, file: CheckedFile) -> str:
        key = f"{uuid.uuid4().hex}.{file.extension}"
        await self.storage.write(key, file.data)
        return key

    def discard(self, keys: Sequence[str]) -> None:
        """Remove files whose rows never committed."""
        for key in keys:
            try:
                self.storage.path(key).unlink(missing_ok=True)
            except MediaNotFound:
                continue
