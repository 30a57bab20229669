"""Signed links and Range parsing: pure rules, no HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from app.content.delivery import (
    LinkStatus,
    RangeNotSatisfiable,
    check_link,
    content_disposition,
    media_link,
    parse_range,
)

KEY = "k" * 40
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _parts(url: str) -> tuple[str, str, str]:
    query = parse_qs(urlsplit(url).query)
    return query["c"][0], query["e"][0], query["s"][0]


def test_a_link_is_valid_until_its_expiry_and_bound_to_item_customer_and_key() -> None:
    customer, expires, sig = _parts(media_link(KEY, 7, 42, NOW, timedelta(minutes=10)))
    assert int(expires) == int((NOW + timedelta(minutes=10)).timestamp())
    assert check_link(KEY, 7, customer, expires, sig, NOW) == LinkStatus.valid
    assert check_link(KEY, 7, customer, expires, sig, NOW + timedelta(minutes=10)) == LinkStatus.expired
    assert check_link(KEY, 8, customer, expires, sig, NOW) == LinkStatus.tampered
    assert check_link(KEY, 7, "43", expires, sig, NOW) == LinkStatus.tampered
    assert check_link(KEY, 7, customer, str(int(expires) + 1), sig, NOW) == LinkStatus.tampered
    assert check_link("j" * 40, 7, customer, expires, sig, NOW) == LinkStatus.tampered
    assert check_link(KEY, 7, "-1", expires, sig, NOW) == LinkStatus.tampered
    assert check_link(KEY, 7, customer, "9" * 40, sig, NOW) == LinkStatus.tampered


def test_a_forged_expiry_is_tampered_not_expired() -> None:
    customer, expires, sig = _parts(media_link(KEY, 7, 42, NOW, timedelta(minutes=10)))
    past = str(int(expires) - 3600)
    assert check_link(KEY, 7, customer, past, sig, NOW + timedelta(hours=2)) == LinkStatus.tampered


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-99", (0, 99)),
        ("bytes=100-", (100, 999)),
        ("bytes=-10", (990, 999)),
        ("bytes=-5000", (0, 999)),
        ("bytes=900-5000", (900, 999)),
        ("bytes=0-0", (0, 0)),
        ("bytes=0-1, 4-5", None),  # several ranges: the whole file
    ],
)
def test_ranges(header: str | None, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, 1000) == expected


@pytest.mark.parametrize(
    "header", ["bytes=", "bytes=-", "bytes=a-b", "bytes=5-1", "bytes=1000-", "bytes=-0", "pages=1-2"]
)
def test_malformed_or_unsatisfiable_ranges(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, 1000)


def test_disposition_names_the_file_safely() -> None:
    assert content_disposition("talk.mp4", "video/mp4").startswith('inline; filename="talk.mp4"')
    assert content_disposition('a"b.csv', "text/csv") == "attachment; filename=\"ab.csv\"; filename*=UTF-8''a%22b.csv"
