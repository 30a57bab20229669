"""Slugs: the last segment of a public address (/catalog/<slug>, /help/<slug>), checked before staff save one."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from app.errors import InvalidInput

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,199}$")


@dataclass(frozen=True, slots=True)
class SlugRule:
    """Where a slug becomes an address (``base``/<slug>) and which slugs that section's own pages hold."""

    base: str  # e.g. "/catalog"
    section: str  # how the message names the section, e.g. "the library"
    reserved: frozenset[str] = field(default_factory=frozenset)

    def check(self, slug: str) -> None:
        """One path segment of lowercase letters, digits, ``-`` and ``_``, and not one of the section's pages;
        else InvalidInput saying which (``slug_reserved``, ``slug_invalid``)."""
        if slug.strip().lower() in self.reserved:
            raise InvalidInput(
                f"The slug {slug!r} is reserved: {self.base}/{slug.strip().lower()} is a page of {self.section} "
                "itself. Choose another slug.",
                code="slug_reserved",
            )
        if not _SLUG.match(slug):
            raise InvalidInput(
                f"Use lowercase letters, digits, hyphens and underscores in a slug (it becomes {self.base}/<slug>).",
                code="slug_invalid",
            )
