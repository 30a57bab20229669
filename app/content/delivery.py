"""Signed, short-lived media links and the HTTP semantics of sending a file (Range, validators, 304).

A link is ``/media/<item>?c=<customer>&e=<expiry>&s=<signature>``, the signature an HMAC-SHA256 over item,
customer and expiry with a key derived from SECRET_KEY. The route checks the signature, the expiry and then
the customer's entitlement *now* (a link outliving its entitlement stops working). Customer 0 is "anonymous"
and opens free items only. Covers go through the same ``plan_delivery``, publicly cacheable. Everything here
is pure except ``plan_delivery``'s file stat.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from enum import StrEnum
from urllib.parse import quote, urlencode

from app.content.storage import MediaStorage, StoredFile

ANONYMOUS = 0
PRIVATE = "private, max-age=0, must-revalidate"  # entitled files: every use is checked again
PUBLIC = "public, max-age=86400"  # covers of published items: not secret, shared caches may keep them a day
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
INLINE_TYPES = ("video/", "audio/", "image/", "application/pdf", "text/plain")


class LinkStatus(StrEnum):
    valid = "valid"
    tampered = "tampered"
    expired = "expired"


def _key(secret_key: str) -> bytes:
    return hmac.new(secret_key.encode(), b"recurra:content-media-links", hashlib.sha256).digest()


def signature(secret_key: str, item_id: int, customer_id: int, expires: int) -> str:
    message = f"{item_id}:{customer_id}:{expires}".encode()
    return hmac.new(_key(secret_key), message, hashlib.sha256).hexdigest()


def media_link(secret_key: str, item_id: int, customer_id: int, now: datetime, ttl: timedelta) -> str:
    expires = int((now + ttl).timestamp())
    query = urlencode({"c": customer_id, "e": expires, "s": signature(secret_key, item_id, customer_id, expires)})
    return f"/media/{item_id}?{query}"


def check_link(secret_key: str, item_id: int, customer: str, expires: str, sig: str, now: datetime) -> LinkStatus:
    """Valid only if untouched and unexpired; the expiry is checked after the signature, so a forged expiry
    is "tampered", never "expired"."""
    if not (customer.isdigit() and expires.isdigit()) or len(expires) > 12 or len(customer) > 12:
        return LinkStatus.tampered
    expected = signature(secret_key, item_id, int(customer), int(expires))
    if not hmac.compare_digest(expected, sig):
        return LinkStatus.tampered
    if now.timestamp() >= int(expires):
        return LinkStatus.expired
    return LinkStatus.valid


class RangeNotSatisfiable(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(f"bytes */{size}")
        self.size = size


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The single byte range ``(start, end_inclusive)`` asked for, None for the whole file. Several ranges are
    answered with the whole file (RFC 9110 lets a server ignore Range); a malformed or unsatisfiable one raises."""
    if header is None:
        return None
    value = header.strip()
    if "," in value and value.startswith("bytes="):
        return None
    match = _RANGE.match(value)
    if not match or match.group(1) == match.group(2) == "":
        raise RangeNotSatisfiable(size)
    first, last = match.groups()
    if first == "":  # the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            raise RangeNotSatisfiable(size)
        return max(0, size - length), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        raise RangeNotSatisfiable(size)
    return start, end


def _etag_matches(header: str, etag: str) -> bool:
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags


def not_modified(headers: Mapping[str, str], stored: StoredFile) -> bool:
    """RFC 9110 section 13.2.2: If-None-Match wins over If-Modified-Since."""
    if (inm := headers.get("if-none-match")) is not None:
        return _etag_matches(inm, stored.etag)
    if (ims := headers.get("if-modified-since")) is not None:
        try:
            return stored.modified_at <= parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
    return False


def _if_range_holds(headers: Mapping[str, str], stored: StoredFile) -> bool:
    value = headers.get("if-range")
    if value is None:
        return True
    if value.startswith('"'):
        return value == stored.etag
    try:
        return stored.modified_at <= parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return False


def content_disposition(filename: str, content_type: str, *, download: bool = False) -> str:
    """Inline for what browsers show safely (unless ``download``), else a download; the name in both forms."""
    kind = "inline" if content_type.startswith(INLINE_TYPES) and not download else "attachment"
    ascii_name = filename.encode("ascii", "ignore").decode().replace('"', "") or "download"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


@dataclass(frozen=True, slots=True)
class Delivery:
    status: int
    headers: dict[str, str]
    body: AsyncIterator[bytes] | None = field(default=None)


async def plan_delivery(
    storage: MediaStorage,
    key: str,
    filename: str,
    headers: Mapping[str, str],
    *,
    content_type: str = "",
    x_accel_prefix: str = "",
    cache_control: str = PRIVATE,
) -> Delivery:
    """How to answer a GET for stored file ``key``: 200, 206 with one range, 304, or 416 (RangeNotSatisfiable
    raised for the route to render). With ``x_accel_prefix`` nginx sends the bytes (and does Range itself)."""
    stored = await storage.stat(key)
    content_type = content_type or stored.content_type
    common = {
        "content-type": content_type,
        "content-disposition": content_disposition(filename, content_type),
        "etag": stored.etag,
        "last-modified": format_datetime(stored.modified_at, usegmt=True),
        "accept-ranges": "bytes",
        "cache-control": cache_control,
        "x-content-type-options": "nosniff",
    }
    if not_modified(headers, stored):
        return Delivery(304, {k: v for k, v in common.items() if k not in {"content-type", "content-disposition"}})
    if x_accel_prefix:
        return Delivery(200, {**common, "x-accel-redirect": x_accel_prefix + quote(stored.key)})
    byte_range = parse_range(headers.get("range"), stored.size) if _if_range_holds(headers, stored) else None
    if byte_range is None:
        body = storage.read(key, 0, stored.size)
        return Delivery(200, {**common, "content-length": str(stored.size)}, body)
    start, end = byte_range
    length = end - start + 1
    body = storage.read(key, start, length)
    return Delivery(
        206, {**common, "content-length": str(length), "content-range": f"bytes {start}-{end}/{stored.size}"}, body
    )
