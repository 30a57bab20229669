from __future__ import annotations

from app.billing.numbering import Series, format_number


def test_numbers_carry_series_year_and_six_digits() -> None:
    assert format_number(Series.invoice, 2026, 42) == "INV-2026-000042"
    assert format_number(Series.credit_note, 2027, 1) == "CN-2027-000001"
    assert format_number(Series.invoice, 2026, 1_234_567) == "INV-2026-1234567"  # grows, never wraps


def test_numbers_sort_in_issue_order_within_a_year() -> None:
    numbers = [format_number(Series.invoice, 2026, n) for n in (1, 2, 10, 99, 100, 999_999)]
    assert sorted(numbers) == numbers
