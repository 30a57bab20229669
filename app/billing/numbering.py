"""Gapless document numbers per series and year: ``INV-2026-000042``, ``CN-2026-000001``.

Test customers (on test clocks) have series of their own, ``TEST-INV`` and ``TEST-CN``: a clock's time may run
years ahead, and the live series must stay gapless and dated by real time.

A number is taken by advancing the (series, year) counter row with an UPSERT ... RETURNING inside the
transaction that finalizes the document. The row stays locked until that transaction ends, so concurrent
finalizers queue on it, and a rollback gives the numbers back: no gaps, no duplicates, never derived from ids.
"""

from __future__ import annotations

from enum import StrEnum

from tables.billing import NumberSequence

DIGITS = 6


class Series(StrEnum):
    invoice = "INV"
    credit_note = "CN"
    test_invoice = "TEST-INV"
    test_credit_note = "TEST-CN"


def series_for(document: Series, *, is_test: bool) -> Series:
    """The series a customer's ``document`` (``Series.invoice`` or ``Series.credit_note``) is numbered in."""
    return Series(f"TEST-{document.value}") if is_test else document


def format_number(series: Series, year: int, value: int) -> str:
    return f"{series.value}-{year}-{value:0{DIGITS}d}"


async def allocate(series: Series, year: int, count: int = 1) -> list[str]:
    """Take the next ``count`` numbers of the series; call inside the finalizing transaction."""
    if count < 1:
        return []
    rows = await NumberSequence.raw(
        "INSERT INTO number_sequence (series, year, last_value) VALUES ({}, {}, {}) "
        "ON CONFLICT (series, year) DO UPDATE SET last_value = number_sequence.last_value + excluded.last_value "
        "RETURNING last_value",
        series.value,
        year,
        count,
    )
    last = int(rows[0]["last_value"])
    return [format_number(series, year, value) for value in range(last - count + 1, last + 1)]
