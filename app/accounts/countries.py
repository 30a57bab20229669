"""ISO 3166-1 alpha-2 countries, read from the IANA time zone database's iso3166.tab (shipped by tzdata)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=1)
def countries() -> dict[str, str]:
    """Code -> English short name, sorted by name."""
    text = resources.files("tzdata").joinpath("zoneinfo", "iso3166.tab").read_text(encoding="utf-8")
    pairs = (line.split("\t", 1) for line in text.splitlines() if line and not line.startswith("#"))
    return dict(sorted(((code, name.strip()) for code, name in pairs), key=lambda item: item[1]))


def is_country(code: str) -> bool:
    return code in countries()
