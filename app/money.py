"""Money is an int of minor units with an ISO-4217 currency code: never a float.

Formatting for people and conversion to a gateway's decimal string live here, once.
Rounding happens once per line, half-even (``round_minor``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

# Minor-unit exponents (ISO 4217) of the currencies Recurra accepts; PayPal supports these.
CURRENCY_EXPONENTS: dict[str, int] = {
    "AUD": 2, "BRL": 2, "CAD": 2, "CHF": 2, "CZK": 2, "DKK": 2, "EUR": 2, "GBP": 2, "HKD": 2,
    "HUF": 0, "ILS": 2, "JPY": 0, "MXN": 2, "NOK": 2, "NZD": 2, "PHP": 2, "PLN": 2, "SEK": 2,
    "SGD": 2, "THB": 2, "TWD": 0, "USD": 2,
}  # fmt: skip
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "AUD": "A$", "CAD": "CA$", "CHF": "CHF "}


class CurrencyError(ValueError):
    pass


def exponent(currency: str) -> int:
    try:
        return CURRENCY_EXPONENTS[currency]
    except KeyError:
        raise CurrencyError(f"unsupported currency {currency!r}") from None


@dataclass(frozen=True, slots=True, order=True)
class Money:
    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount_minor, bool) or not isinstance(self.amount_minor, int):
            raise TypeError("amount_minor must be an int of minor units")
        exponent(self.currency)

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount_minor + other.amount_minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount_minor - other.amount_minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount_minor, self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyError(f"cannot combine {self.currency} with {other.currency}")

    def to_decimal_string(self) -> str:
        """The gateway's representation: "12.50" for 1250 USD, "1250" for 1250 JPY."""
        return str(Decimal(self.amount_minor).scaleb(-exponent(self.currency)))

    @classmethod
    def from_decimal_string(cls, value: str, currency: str) -> Money:
        amount = Decimal(value).scaleb(exponent(currency))
        if amount != amount.to_integral_value():
            raise CurrencyError(f"{value} has more decimals than {currency} allows")
        return cls(int(amount), currency)

    def format(self) -> str:
        return format_money(self.amount_minor, self.currency)


def round_minor(value: Decimal) -> int:
    """Round a fractional amount of minor units to a whole one, half-even (banker's rounding)."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def format_money(amount_minor: int, currency: str) -> str:
    """A human amount: ``$12.50``, ``-€3.00``, ``¥1,250``, ``12.50 SEK``."""
    places = exponent(currency)
    number = f"{abs(Decimal(amount_minor).scaleb(-places)):,.{places}f}"
    sign = "-" if amount_minor < 0 else ""
    symbol = _SYMBOLS.get(currency)
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{number} {currency}"
