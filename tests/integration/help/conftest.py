"""Fixtures of the help centre tests."""

from __future__ import annotations

from tests.integration.content.conftest import sql_queries  # noqa: F401 - the same statement counter
