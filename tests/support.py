"""Support desk test helpers: files whose type is in their bytes, mail as customers' clients send it, and the
inbound SMTP listener started on a free port."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import aiosmtplib

from app.support.service import SupportDesk
from app.support.smtp import listening
from tests.servers import ROOT, accepts_connections, server_env, stop, wait_until_ready
from tests.smtp import free_port

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64)
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(64)  # a Windows executable's header


def customer_mail(
    sender: str,
    to: str,
    subject: str,
    body: str,
    *,
    headers: dict[str, str] | None = None,
    files: list[tuple[str, str, bytes]] | None = None,
) -> EmailMessage:
    """A mail as a person's client would send it; ``files``: (name, declared type, bytes)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="mail.example.com")
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    for filename, declared, data in files or []:
        maintype, _, subtype = declared.partition("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message


@asynccontextmanager
async def inbound_listener(desk: SupportDesk) -> AsyncIterator[int]:
    """The support SMTP listener, on this event loop (so on the test's database), at a free port."""
    port = free_port()
    async with listening(desk, "127.0.0.1", port):
        yield port


async def send(
    port: int, message: EmailMessage, *, sender: str | None = None, recipients: list[str] | None = None
) -> None:
    """Deliver over real SMTP; ``sender`` "" sends an empty return path (MAIL FROM:<>), as bounces do."""
    await aiosmtplib.send(message, hostname="127.0.0.1", port=port, sender=sender, recipients=recipients, timeout=10)


@contextmanager
def inbound_mail_process(var_dir: Path, log_path: Path, timeout: float = 60.0) -> Iterator[int]:
    """``python -m app inbound-mail`` as a process of its own, configured like a live server whose VAR_DIR
    (so SECRET_KEY, which signs reply addresses) is ``var_dir``; yields its port once it accepts connections."""
    port = free_port()
    env = server_env(VAR_DIR=str(var_dir), REDIS_URL="", INBOUND_SMTP_PORT=str(port))
    with log_path.open("w") as log:
        process = subprocess.Popen([sys.executable, "-m", "app", "inbound-mail"], cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)  # fmt: skip
    try:
        wait_until_ready(process, log_path, lambda: accepts_connections(port), timeout)
        yield port
    finally:
        stop(process)
