"""Markdown written by staff (catalog articles, help articles) rendered to HTML: CommonMark through markdown-it
with raw HTML off, so whatever HTML an author types is shown as text, never run."""

from __future__ import annotations

from markdown_it import MarkdownIt
from markupsafe import Markup

_markdown = MarkdownIt("commonmark", {"html": False})


def render_markdown(text: str) -> Markup:
    return Markup(_markdown.render(text))  # noqa: S704 - markdown-it escapes text; raw HTML is off
