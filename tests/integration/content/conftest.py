"""Fixtures of the content tests."""

from __future__ import annotations

from typing import Any

import pytest
from piccolo.engine import engine_finder

from tests.integration.content.helpers import QueryCounter


@pytest.fixture
def sql_queries(monkeypatch: pytest.MonkeyPatch) -> QueryCounter:
    """Counts every statement the database engine runs (Piccolo sends all of them through run_querystring)."""
    engine: Any = engine_finder()
    counter = QueryCounter()
    original = type(engine).run_querystring

    async def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        counter.count += 1
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(type(engine), "run_querystring", counting)
    return counter
