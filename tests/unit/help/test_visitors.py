"""Who votes: a customer by id, or an anonymous visitor by a random cookie id of a sane shape."""

from __future__ import annotations

import pytest

from app.support.help.service import Visitor


def test_visitor_keys() -> None:
    assert Visitor.customer(42) == Visitor("customer:42", 42)
    assert Visitor.anonymous("A" * 16).key == "anon:" + "A" * 16


@pytest.mark.parametrize("cookie_id", ["short", "x" * 65, "has space inside!!", "semi;colon;semi;colon"])
def test_a_cookie_id_of_another_shape_is_refused(cookie_id: str) -> None:
    with pytest.raises(ValueError):
        Visitor.anonymous(cookie_id)
