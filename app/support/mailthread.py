"""How an e-mail finds its ticket: signed reply addresses, and the Message-IDs of the thread.

Every staff reply goes out with ``Reply-To: support+t<ticket>-<signature>@<domain>``; the signature is an
HMAC-SHA256 of the ticket id under a key derived from SECRET_KEY, so a reply to that address threads into its
ticket and nobody can forge an address for another ticket (lower-case hex: mail systems may fold the case of
an address). The mail also carries ``Message-ID`` ``<ticket-<id>.<random>@<domain>>`` and ``References`` to the
ticket's root id ``<ticket-<id>@<domain>>``, so a reply that lost the address (sent to the plain support
address) can still be threaded by its ``In-Reply-To``/``References``: the service accepts that only from the
ticket's own requester. Everything here is pure.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from collections.abc import Iterable
from email.utils import getaddresses

SIGNATURE_HEX = 20  # 80 bits
_TOKEN = re.compile(rf"^t(\d{{1,12}})-([0-9a-f]{{{SIGNATURE_HEX}}})$")
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
_OUR_ID = re.compile(r"^ticket-(\d{1,12})(?:\.[0-9a-f]+)?@(.+)$")


def _key(secret_key: str) -> bytes:
    return hmac.new(secret_key.encode(), b"recurra:support-reply-address", hashlib.sha256).digest()


def _signature(secret_key: str, ticket_id: int) -> str:
    return hmac.new(_key(secret_key), f"ticket:{ticket_id}".encode(), hashlib.sha256).hexdigest()[:SIGNATURE_HEX]


def reply_token(secret_key: str, ticket_id: int) -> str:
    return f"t{ticket_id}-{_signature(secret_key, ticket_id)}"


def reply_address(secret_key: str, support_email: str, ticket_id: int) -> str:
    local, _, domain = support_email.partition("@")
    return f"{local}+{reply_token(secret_key, ticket_id)}@{domain}"


def ticket_of_token(secret_key: str, token: str) -> int | None:
    """The ticket a token was signed for; None when it is malformed or its signature does not match."""
    match = _TOKEN.match(token.strip().lower())
    if match is None:
        return None
    ticket_id = int(match.group(1))
    return ticket_id if hmac.compare_digest(match.group(2), _signature(secret_key, ticket_id)) else None


def split_support_address(address: str, support_email: str) -> tuple[bool, str]:
    """Whether ``address`` is the support mailbox (plain or with a ``+tag``), and its tag ("" if none)."""
    local, _, domain = address.strip().strip("<>").lower().rpartition("@")
    support_local, _, support_domain = support_email.lower().partition("@")
    base, _, tag = local.partition("+")
    return (domain == support_domain and base == support_local), tag


def ticket_of_addresses(secret_key: str, support_email: str, addresses: Iterable[str]) -> int | None:
    """The ticket named by a signed reply address among ``addresses`` (envelope recipients, To, Cc...)."""
    for _, address in getaddresses(list(addresses)):
        ours, tag = split_support_address(address, support_email)
        if ours and tag and (ticket_id := ticket_of_token(secret_key, tag)) is not None:
            return ticket_id
    return None


def root_message_id(ticket_id: int, domain: str) -> str:
    return f"<ticket-{ticket_id}@{domain}>"


def new_message_id(ticket_id: int, domain: str) -> str:
    """A Message-ID for a mail about the ticket; unique, and still naming the ticket."""
    return f"<ticket-{ticket_id}.{uuid.uuid4().hex[:16]}@{domain}>"


def message_ids(*headers: str | None) -> list[str]:
    """Every ``<id>`` in In-Reply-To/References header values, newest (last) first, without duplicates."""
    found: list[str] = []
    for header in headers:
        found.extend(f"<{m}>" for m in _MESSAGE_ID.findall(header or ""))
    return list(dict.fromkeys(reversed(found)))


def tickets_named_by(ids: Iterable[str], domain: str) -> list[int]:
    """Ticket ids our own Message-IDs name (ours: on our mail domain), in the order given."""
    tickets: list[int] = []
    for message_id in ids:
        match = _OUR_ID.match(message_id.strip("<>"))
        if match and match.group(2).lower() == domain.lower():
            tickets.append(int(match.group(1)))
    return list(dict.fromkeys(tickets))
