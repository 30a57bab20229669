from decimal import Decimal

import pytest

from app.money import CurrencyError, Money, format_money, round_minor


def test_amounts_are_integers_of_minor_units() -> None:
    with pytest.raises(TypeError):
        Money(12.5, "USD")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(True, "USD")


def test_unknown_currency_is_refused() -> None:
    with pytest.raises(CurrencyError):
        Money(100, "ZZZ")


def test_arithmetic_keeps_the_currency_and_refuses_mixing() -> None:
    assert Money(1000, "USD") - Money(250, "USD") == Money(750, "USD")
    assert -Money(5, "EUR") == Money(-5, "EUR")
    with pytest.raises(CurrencyError):
        _ = Money(1, "USD") + Money(1, "EUR")


@pytest.mark.parametrize(
    ("money", "text"),
    [
        (Money(1250, "USD"), "12.50"),
        (Money(5, "USD"), "0.05"),
        (Money(1250, "JPY"), "1250"),
        (Money(-99, "EUR"), "-0.99"),
    ],
)
def test_gateway_decimal_strings_round_trip(money: Money, text: str) -> None:
    assert money.to_decimal_string() == text
    assert Money.from_decimal_string(text, money.currency) == money


def test_decimal_strings_with_too_many_places_are_refused() -> None:
    with pytest.raises(CurrencyError):
        Money.from_decimal_string("1.005", "USD")
    with pytest.raises(CurrencyError):
        Money.from_decimal_string("10.5", "JPY")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0.5", 0), ("1.5", 2), ("2.5", 2), ("-2.5", -2), ("2.5000001", 3), ("2.4999", 2)],
)
def test_rounding_is_half_even(value: str, expected: int) -> None:
    assert round_minor(Decimal(value)) == expected


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (123456, "USD", "$1,234.56"),
        (-300, "EUR", "-€3.00"),
        (1250, "JPY", "¥1,250"),
        (1250, "SEK", "12.50 SEK"),
        (0, "GBP", "£0.00"),
    ],
)
def test_formatting_for_people(amount: int, currency: str, text: str) -> None:
    assert format_money(amount, currency) == text
