"""A real SMTP server (aiosmtpd) that keeps what it receives, for tests that check outgoing mail."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.url = ""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def tagged(self, tag: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["X-Recurra-Tag"] == tag]

    async def wait_for(self, tag: str, count: int = 1, timeout: float = 10.0) -> list[EmailMessage]:
        async with asyncio.timeout(timeout):
            while len(self.tagged(tag)) < count:
                await asyncio.sleep(0.02)
        return self.tagged(tag)

    @staticmethod
    def text(message: EmailMessage) -> str:
        body = message.get_body(("plain",))
        return body.get_content() if body is not None else ""

    @staticmethod
    def html(message: EmailMessage) -> str:
        body = message.get_body(("html",))
        return body.get_content() if body is not None else ""


@contextmanager
def smtp_server() -> Iterator[Mailbox]:
    mailbox = Mailbox()
    port = free_port()  # aiosmtpd's Controller(port=0) cannot report the port it got
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    mailbox.url = f"smtp://127.0.0.1:{port}"
    try:
        yield mailbox
    finally:
        controller.stop()
