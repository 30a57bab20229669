"""Search snippets become HTML whose only tags are balanced <mark> pairs around the matched words."""

from __future__ import annotations

import re

from app.support.help.search import HIT_END, HIT_START
from app.support.help.snippets import highlight, plain

S, E = HIT_START, HIT_END


def tags(html: str) -> list[str]:
    return re.findall(r"<[^>]*>", html)


def test_the_marks_are_the_only_html() -> None:
    html = highlight(f"Press <b>{S}Pay{E}</b> & \"<script>alert(1)</script>\" 'now'")
    assert tags(html) == ["<mark>", "</mark>"]
    assert html == (
        "Press &lt;b&gt;<mark>Pay</mark>&lt;/b&gt; &amp; &#34;&lt;script&gt;alert(1)&lt;/script&gt;&#34; &#39;now&#39;"
    )


def test_marks_stay_balanced_whatever_the_snippet_cut_off() -> None:
    assert highlight(f"{E}tail {S}head") == "tail <mark>head</mark>"
    assert highlight(f"{S}{S}one{E}{E} {E}two") == "<mark>one</mark> two"
    assert highlight(f"{S}{E}") == ""


def test_markdown_punctuation_is_left_out() -> None:
    source = f"## Steps\n\n1. Open **Account** → [{S}Billing{E}](/account/billing)\n> `code` and snake_case"
    assert plain(source) == f"Steps Open Account → {S}Billing{E} code and snake_case"
    assert highlight("a link cut off](/account/bil") == "a link cut off"
