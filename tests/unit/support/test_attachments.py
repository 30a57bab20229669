"""What may be attached is read from a file's bytes; its name only ever gets the matching extension."""

from __future__ import annotations

import pytest

from app.support.attachments import MAX_ATTACHMENTS, CheckedFile, Upload, check, check_all, clean_filename, sniff
from tests.support import EXE, PDF, PNG

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(32)
GIF = b"GIF89a" + bytes(32)
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(32)


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (GIF, "image/gif"),
        (WEBP, "image/webp"),
        (PDF, "application/pdf"),
        ("Grüße, line one\r\nline two\t(tab)\n".encode(), "text/plain"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "text/plain"),
        (EXE, None),
        (b"PK\x03\x04" + bytes(40), None),  # a zip archive
        (b"\x7fELF\x02\x01\x01" + bytes(40), None),
        ("caf\xe9".encode("latin-1"), None),  # not UTF-8: not the text we accept
        (b"text with a \x00 NUL", None),
    ],
)
def test_the_type_is_read_from_the_bytes(data: bytes, content_type: str | None) -> None:
    assert sniff(data) == content_type


def test_text_cut_by_the_sniff_window_mid_character_is_still_text() -> None:
    data = "a" * (64 * 1024 - 1) + "é" * 10  # the window ends inside the first "é"
    assert sniff(data.encode()) == "text/plain"


@pytest.mark.parametrize(
    ("name", "content_type", "cleaned"),
    [
        ("screen.png", "image/png", "screen.png"),
        ("photo.JPEG", "image/jpeg", "photo.JPEG"),
        ("notes.html", "text/plain", "notes.html.txt"),
        ("invoice.txt", "application/pdf", "invoice.txt.pdf"),
        ("C:\\Users\\ada\\report.pdf", "application/pdf", "report.pdf"),
        ("../../etc/passwd", "text/plain", "passwd.txt"),
        ('a"b;c<d>.txt', "text/plain", "a_b_c_d_.txt"),
        ("", "image/png", "attachment.png"),
        ("...", "image/gif", "attachment.gif"),
    ],
)
def test_names_are_cleaned_and_end_as_the_bytes_say(name: str, content_type: str, cleaned: str) -> None:
    assert clean_filename(name, content_type) == cleaned


def test_size_emptiness_and_count_limits() -> None:
    assert check(Upload("big.png", PNG + bytes(2 * 1024 * 1024)), 1024 * 1024) == (
        "big.png is 2.0 MB; files are limited to 1 MB."
    )
    assert check(Upload("empty.txt", b""), 1024) == "empty.txt is empty."
    assert check(Upload("app.png", EXE), 1024) == "app.png is not a kind of file we accept (images, PDF or plain text)."
    assert check(Upload("shot.png", PNG), 1024) == CheckedFile("shot.png", "image/png", PNG)
    kept, refused = check_all([Upload(f"{n}.png", PNG) for n in range(MAX_ATTACHMENTS + 1)], 1024)
    assert [f.filename for f in kept] == ["0.png", "1.png", "2.png"]
    assert refused == ["3.png: at most 3 files a message."]
