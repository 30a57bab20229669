"""Canned replies fill their placeholders by plain substitution: once, verbatim, never as template code."""

from __future__ import annotations

from app.support.canned import fill


def test_known_placeholders_are_filled_and_unknown_ones_stay_for_the_agent_to_see() -> None:
    values = {"customer_name": "Ada", "plan": "Library Plus"}
    assert fill("Hi {{customer_name}}, on {{ plan }}: {{ refund_amount }}", values) == (
        "Hi Ada, on Library Plus: {{ refund_amount }}"
    )


def test_values_are_inserted_verbatim_and_never_expanded_again() -> None:
    sneaky = "{{plan}} {% for x in range(9) %}{{ config }}{% endfor %} <script>"
    filled = fill("Dear {{customer_name}}, your {{plan}}.", {"customer_name": sneaky, "plan": "Basic"})
    assert filled == f"Dear {sneaky}, your Basic."
