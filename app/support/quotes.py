"""Strip the quoted history from an e-mail reply, keeping what the customer wrote this time.

Mail clients quote the message they answer in a few well-known ways; everything from the first marker on is
history we already hold in the thread:

- an attribution line: ``On Mon, 1 Dec 2026 at 10:00, Recurra <support@...> wrote:`` (Gmail, Apple Mail,
  Thunderbird; it may wrap onto a second line), and its German, French, Spanish, Dutch and Italian forms;
- Outlook's ``-----Original Message-----``, or its header block (``From:`` followed by ``Sent:``/``Date:``,
  ``To:`` or ``Subject:``), often after a line of underscores;
- a signature after the standard ``-- `` delimiter.

Lines quoted with ``>`` are dropped wherever they stand (the customer's answers between them stay). A reply that
would come out empty (all quote) is kept whole, so nothing the customer sent is ever lost. Pure.
"""

from __future__ import annotations

import re

_ATTRIBUTION = re.compile(
    r"^\s*(on|am|le|el|op|il)\b.{0,400}\b(wrote|schrieb|a écrit|escribió|schreef|ha scritto)\b.{0,300}:\s*$",
    re.IGNORECASE,
)
_ORIGINAL_MESSAGE = re.compile(r"^\s*-{2,}\s*(original message|ursprüngliche nachricht|message d'origine)\s*-{2,}\s*$",
                               re.IGNORECASE)  # fmt: skip
_HEADER_FROM = re.compile(r"^\s*\*?(from|von|de)\s*:\*?\s", re.IGNORECASE)
_HEADER_NEXT = re.compile(r"^\s*\*?(sent|date|to|subject|gesendet|datum|an|betreff|envoyé|à|objet)\s*:", re.IGNORECASE)
_UNDERSCORES = re.compile(r"^\s*_{10,}\s*$")
SIGNATURE_DELIMITER = "-- "


def _attribution(line: str) -> bool:
    # Real attributions carry a date: "On Monday I wrote:" in a customer's own text is not one.
    return bool(_ATTRIBUTION.match(line)) and any(c.isdigit() for c in line)


def _history_starts(lines: list[str], index: int) -> bool:
    line = lines[index]
    if _attribution(line) or _ORIGINAL_MESSAGE.match(line):
        return True
    # A long attribution wrapped by the client: "On ..., Recurra <" / "support@example.com> wrote:"
    if index + 1 < len(lines) and _attribution(f"{line} {lines[index + 1]}"):
        return True
    if _HEADER_FROM.match(line):
        following = [lines[i] for i in range(index + 1, min(index + 4, len(lines))) if lines[i].strip()]
        return any(_HEADER_NEXT.match(next_line) for next_line in following)
    if _UNDERSCORES.match(line) and index + 1 < len(lines):
        return bool(_HEADER_FROM.match(lines[index + 1]))
    return False


def strip_quoted(text: str) -> str:
    """What the sender wrote above (and between) the quoted history."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        if line == SIGNATURE_DELIMITER or _history_starts(lines, index):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line.rstrip())
    reply = "\n".join(kept).strip()
    reply = re.sub(r"\n{3,}", "\n\n", reply)
    return reply or text.strip()
