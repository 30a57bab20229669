"""A help article's slug is its address /help/<slug>: one path segment, and none of the help centre's own pages."""

from __future__ import annotations

import pytest

from app.errors import InvalidInput
from app.support.help.service import ARTICLE_SLUGS, CATEGORY_SLUGS


@pytest.mark.parametrize("slug", ["search", "category", "Preview", " preview "])
def test_the_help_centres_own_pages_are_reserved(slug: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        ARTICLE_SLUGS.check(slug)
    assert refused.value.code == "slug_reserved"
    assert f"/help/{slug.strip().lower()} is a page of the help centre" in refused.value.detail


@pytest.mark.parametrize("slug", ["", "two words", "a/b", "../admin", "Capital", "-dash-first", "x" * 201])
def test_a_slug_is_one_lowercase_path_segment(slug: str) -> None:
    for rule in (ARTICLE_SLUGS, CATEGORY_SLUGS):
        with pytest.raises(InvalidInput) as refused:
            rule.check(slug)
        assert refused.value.code == "slug_invalid"
        assert f"it becomes {rule.base}/<slug>" in refused.value.detail


def test_good_slugs_pass() -> None:
    ARTICLE_SLUGS.check("reset-password")
    CATEGORY_SLUGS.check("search")  # a category may be called search: /help/category/search is no page
