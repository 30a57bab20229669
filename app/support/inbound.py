"""Read a received e-mail into what the support desk needs, and tell mail no ticket must come from. Pure.

Loop protection (RFC 3834 and common practice): automatic mail never opens or touches a ticket, so an
auto-responder and the desk can never answer each other: ``Auto-Submitted`` other than ``no``,
``Precedence: bulk/junk/list``, an empty return path (``MAIL FROM:<>``, how bounces are sent), ``X-Autoreply``
/ ``X-Autorespond``, delivery reports (``multipart/report``), mail from MAILER-DAEMON or postmaster, and mail
from the desk's own addresses.
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

from app.support.attachments import Upload
from app.support.mailthread import message_ids
from app.support.quotes import strip_quoted

MAX_SUBJECT = 300
_SYSTEM_SENDERS = ("mailer-daemon", "postmaster", "noreply-dmarc-support")


@dataclass(frozen=True, slots=True)
class InboundMail:
    sender: str  # the From address, lower-cased ("" when there is none)
    sender_name: str
    subject: str
    text: str  # what the sender wrote this time (quoted history stripped)
    message_id: str
    thread_ids: list[str]  # In-Reply-To and References, newest first
    recipients: list[str]  # envelope recipients, To, Cc and Delivered-To: where a signed reply address shows
    uploads: list[Upload] = field(default_factory=list)
    automatic: str = ""  # why this is automatic mail (a bounce, an auto-reply...): never a ticket


def parse_message(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)  # noqa: S101 - the default policy always builds EmailMessage
    return message


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
    except (ValueError, IndexError):  # a header the policy cannot parse: treat it as absent
        return ""
    return str(value).strip() if value is not None else ""


def automatic_reason(message: EmailMessage, mail_from: str | None, own_addresses: set[str]) -> str:
    """Why this mail was sent by a machine (so must not become a ticket), or "" for a person's mail."""
    auto_submitted = _header(message, "Auto-Submitted").lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return f"Auto-Submitted: {auto_submitted}"
    precedence = _header(message, "Precedence").lower()
    if precedence in {"bulk", "junk", "list", "auto_reply"}:
        return f"Precedence: {precedence}"
    if mail_from is not None and mail_from.strip() in {"", "<>"}:
        return "empty return path (a bounce)"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder"):
        if _header(message, name):
            return name
    if message.get_content_type() == "multipart/report":
        return "a delivery report"
    sender = parseaddr(_header(message, "From"))[1].lower()
    if sender.partition("@")[0] in _SYSTEM_SENDERS:
        return f"from {sender}"
    if sender in own_addresses:
        return "from the desk itself"
    return ""


class _TextOfHtml(HTMLParser):
    """The visible text of an HTML-only mail (no script or style), line breaks kept at block ends."""

    _BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0
        self._quoted = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style", "head"}:
            self._hidden += 1
        if tag == "blockquote":  # HTML clients quote the history in a blockquote
            self._quoted += 1
        if tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style", "head"}:
            self._hidden = max(0, self._hidden - 1)
        if tag == "blockquote":
            self._quoted = max(0, self._quoted - 1)
        if tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden and not self._quoted:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).split("\n")]
    return "\n".join(lines)


def _body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # an unknown charset or a broken transfer encoding
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
    text = str(content)
    return html_to_text(text) if part.get_content_type() == "text/html" else text


def _uploads(message: EmailMessage) -> list[Upload]:
    body = message.get_body(preferencelist=("plain", "html"))
    uploads = []
    for part in message.iter_attachments() if message.is_multipart() else []:
        if part is body or part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            uploads.append(Upload(filename=part.get_filename() or "", data=payload))
    return uploads


def read_mail(data: bytes, *, mail_from: str | None, rcpt_tos: list[str], own_addresses: set[str]) -> InboundMail:
    message = parse_message(data)
    name, sender = parseaddr(_header(message, "From"))
    recipients = [*rcpt_tos, *(a for _, a in getaddresses([_header(message, h) for h in ("To", "Cc", "Delivered-To")]))]
    return InboundMail(
        sender=sender.lower(),
        sender_name=name[:200],
        subject=" ".join(_header(message, "Subject").split())[:MAX_SUBJECT],
        text=strip_quoted(_body_text(message)),
        message_id=_header(message, "Message-ID")[:998],
        thread_ids=message_ids(_header(message, "In-Reply-To"), _header(message, "References")),
        recipients=[r for r in recipients if r],
        uploads=_uploads(message),
        automatic=automatic_reason(message, mail_from, own_addresses),
    )
