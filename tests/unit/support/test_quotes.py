"""Quoted history is stripped from e-mail replies, in the ways common clients quote."""

from __future__ import annotations

import pytest

from app.support.quotes import strip_quoted

GMAIL = """Thanks, that worked!

On Mon, 1 Dec 2026 at 10:00, Recurra Support <support+t1-abc@recurra.localhost> wrote:
> Try clearing the cache.
>
> --
> Reply to this e-mail
"""
WRAPPED = """Still broken.

On Mon, Dec 1, 2026 at 10:00 AM Recurra Support <
support+t1-abc@recurra.localhost> wrote:

> Try again
"""
OUTLOOK = """I tried that.

-----Original Message-----
From: Recurra Support <support@recurra.localhost>
Sent: Monday, December 1, 2026 10:00 AM
Subject: Re: Video [#12]

Try clearing the cache.
"""
OUTLOOK_WEB = """Works now.

________________________________
From: Recurra Support <support@recurra.localhost>
Sent: Monday, 1 December 2026 10:00
To: ada@example.com
Subject: Re: Video

Try clearing the cache.
"""
GERMAN = """Danke!

Am 01.12.2026 um 10:00 schrieb Recurra Support <support@recurra.localhost>:
> Versuchen Sie es erneut.
"""
INLINE = "> Which browser do you use?\nFirefox.\n> And which version?\nThe latest, 133.\n-- \nAda Lovelace\nAda Ltd\n"


@pytest.mark.parametrize(
    ("mail", "kept"),
    [
        (GMAIL, "Thanks, that worked!"),
        (WRAPPED, "Still broken."),
        (OUTLOOK, "I tried that."),
        (OUTLOOK_WEB, "Works now."),
        (GERMAN, "Danke!"),
        (INLINE, "Firefox.\nThe latest, 133."),  # answers between quotes stay; the signature goes
    ],
)
def test_quoted_history_is_stripped(mail: str, kept: str) -> None:
    assert strip_quoted(mail) == kept


def test_a_customers_own_words_that_look_like_quote_markers_stay() -> None:
    text = "On Monday I wrote: the video stops.\nFrom: my phone\nIt stops at 1:00."
    assert strip_quoted(text) == text


def test_a_reply_that_is_all_quote_is_kept_whole() -> None:
    assert strip_quoted("> only the old mail\n> quoted") == "> only the old mail\n> quoted"


def test_windows_line_endings() -> None:
    assert strip_quoted("Yes.\r\n\r\nOn Tue, 2 Dec 2026, X <x@y.z> wrote:\r\n> Did it work?\r\n") == "Yes."
