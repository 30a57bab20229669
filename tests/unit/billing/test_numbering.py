from __future__ import annotations

from app.billing.numbering import Series, format_number, series_for


def test_numbers_carry_series_year_and_six_digits() -> None:
    assert format_number(Series.invoice, 2026, 42) == "INV-2026-000042"
    assert format_number(Series.credit_note, 2027, 1) == "CN-2027-000001"
    assert format_number(Series.invoice, 2026, 1_234_567) == "INV-2026-1234567"  # grows, never wraps


def test_numbers_sort_in_issue_order_within_a_year() -> None:
    numbers = [format_number(Series.invoice, 2026, n) for n in (1, 2, 10, 99, 100, 999_999)]
    assert sorted(numbers) == numbers


def test_test_customers_documents_have_series_of_their_own() -> None:
    assert series_for(Series.invoice, is_test=False) is Series.invoice
    assert series_for(Series.credit_note, is_test=False) is Series.credit_note
    assert format_number(series_for(Series.invoice, is_test=True), 2027, 1) == "TEST-INV-2027-000001"
    assert format_number(series_for(Series.credit_note, is_test=True), 2027, 1) == "TEST-CN-2027-000001"
