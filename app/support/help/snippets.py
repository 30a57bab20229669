"""Search snippets as HTML: the snippet text escaped, with ``<mark>`` around the matched words and no other markup.

The database cuts the snippet out of an article's Markdown source and marks the matches with two private-use
characters (app.support.help.search); this strips the Markdown punctuation a reader should not see, escapes
everything, and turns the marks into balanced ``<mark>``/``</mark>`` pairs (a mark cut off by the snippet's edge,
or a stray marker character, never leaves an unclosed or unopened tag).
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

from app.support.help.search import HIT_END, HIT_START

_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)?")  # [text](url) and images -> text (a cut-off url too)
_LINK_TAIL = re.compile(r"\]\([^)]*\)?")  # the end of a link whose start the snippet cut off
_BLOCK_MARKS = re.compile(r"^[ \t]*(?:#{1,6}|>+|[-*+]|\d+\.)[ \t]+", re.MULTILINE)  # headings, quotes, lists
_INLINE_MARKS = re.compile(r"\*+|`+|(?<!\w)_+|_+(?!\w)|[\[\]]")  # emphasis, code, leftover brackets
_SPACE = re.compile(r"\s+")
_MARKS = re.compile(f"([{HIT_START}{HIT_END}])")


def plain(text: str) -> str:
    """Markdown source reduced to what a reader sees (roughly: links to their text, no emphasis or heading marks)."""
    text = _LINK.sub(r"\1", text)
    text = _LINK_TAIL.sub("", text)
    text = _BLOCK_MARKS.sub("", text)
    text = _INLINE_MARKS.sub("", text)
    return _SPACE.sub(" ", text).strip()


def highlight(snippet: str) -> Markup:
    """``snippet`` (plain text with HIT_START/HIT_END marks) as escaped HTML whose only tags are ``<mark>``."""
    out: list[str] = []
    open_mark = False
    for part in _MARKS.split(plain(snippet)):
        if part == HIT_START:
            if not open_mark:
                out.append("<mark>")
                open_mark = True
        elif part == HIT_END:
            if open_mark:
                out.append("</mark>")
                open_mark = False
        else:
            out.append(str(escape(part)))
    if open_mark:
        out.append("</mark>")
    return Markup("".join(out).replace("<mark></mark>", ""))  # noqa: S704 - escaped above; <mark> is ours
