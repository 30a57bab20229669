"""The SMTP listener that receives support mail (aiosmtpd), on INBOUND_SMTP_HOST:INBOUND_SMTP_PORT.

``python -m app inbound-mail`` runs it alone (production: behind the site's MTA, which relays the support
address here); ``python -m app run`` starts it beside the demo. It accepts mail only for the support address
(and its ``+token`` reply addresses), hands each message to ``app.support.email_in.receive``, and answers with
that decision: ``250`` (kept, or dropped as automatic mail), ``550`` (an unknown sender, when refused),
``451`` (past the rate limit, or a failure on our side: the sending server retries later).

The server runs on the caller's event loop (aiosmtpd's ``Controller`` would start a thread with a loop of its
own, where the process's database pool does not work).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from app.ratelimit import build_rate_limiter
from app.settings import Settings
from app.stores import connect_redis
from app.support.attachments import MAX_ATTACHMENTS, AttachmentStore
from app.support.email_in import deliver
from app.support.mailthread import split_support_address
from app.support.service import SupportDesk

log = logging.getLogger("recurra.support.smtp")


class SupportMailHandler:
    """aiosmtpd's handler: recipients first, then each message's decision."""

    def __init__(self, desk: SupportDesk) -> None:
        self.desk = desk

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        ours, _ = split_support_address(address, self.desk.settings.support.support_email)
        if not ours:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        data = envelope.original_content or envelope.content
        if not isinstance(data, bytes):
            data = str(data).encode()
        try:
            received = await deliver(self.desk, data, mail_from=envelope.mail_from, rcpt_tos=list(envelope.rcpt_tos))
        except Exception:
            log.exception("support mail from %s could not be processed", envelope.mail_from)
            return "451 4.3.0 Temporary failure here; please try again later"
        return received.smtp_reply


def desk_for(settings: Settings) -> SupportDesk:
    """The support desk as a process without a web app builds it (the listener, the CLI)."""
    limiter = build_rate_limiter(settings, connect_redis(settings))
    return SupportDesk(settings, limiter, AttachmentStore(settings.support))


def data_size_limit(settings: Settings) -> int:
    # Room for the files kept (base64 grows them by a third) and a message's text around them.
    return (MAX_ATTACHMENTS + 1) * settings.support.max_attachment_bytes * 4 // 3 + 1024 * 1024


@asynccontextmanager
async def listening(desk: SupportDesk, host: str, port: int) -> AsyncIterator[asyncio.Server]:
    """Serve SMTP on ``host:port`` on this event loop while the block runs."""
    handler = SupportMailHandler(desk)
    limit = data_size_limit(desk.settings)

    def protocol() -> Any:
        return SMTP(handler, hostname=desk.settings.support.mail_domain, ident=f"{desk.settings.site_name} support",
                    data_size_limit=limit, enable_SMTPUTF8=True)  # fmt: skip

    server = await asyncio.get_running_loop().create_server(protocol, host=host, port=port)
    try:
        yield server
    finally:
        server.close()
        await server.wait_closed()


async def serve_inbound_mail(settings: Settings) -> None:
    """Listen until SIGINT or SIGTERM (``python -m app inbound-mail``)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    host, port = settings.support.inbound_smtp_host, settings.support.inbound_smtp_port
    async with listening(desk_for(settings), host, port):
        print(f"Support mail: SMTP on {host}:{port} for {settings.support.support_email}", flush=True)
        await stop.wait()
