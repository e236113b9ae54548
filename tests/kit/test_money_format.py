"""Every page shows money one way: the code, thousands separators, the currency's decimals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gigforge.kit.money import format_major, format_money, format_money_range


@pytest.mark.parametrize(
    ("minor", "currency", "shown"),
    [
        (140_000, "USD", "USD 1,400.00"),
        (150_000, "usd", "USD 1,500.00"),
        (1_500_000, "JPY", "JPY 1,500,000"),
        (12_500, "KWD", "KWD 12.500"),
        (5, "EUR", "EUR 0.05"),
        (1_000_000_000, "USD", "USD 10,000,000.00"),
    ],
)
def test_amounts_have_thousands_separators_and_the_currencys_decimals(
    minor: int, currency: str, shown: str
) -> None:
    assert format_money(minor, currency) == shown


def test_a_major_amount_is_shown_with_the_currencys_decimals_whatever_its_own() -> None:
    assert format_major(Decimal("1400"), "USD") == "USD 1,400.00"
    assert format_major(Decimal("1E+3"), "JPY") == "JPY 1,000"
    assert format_major(Decimal("99.5"), "GBP") == "GBP 99.50"


def test_a_range_keeps_both_ends_and_an_open_end_says_so() -> None:
    assert format_money_range(9_000_000, 12_000_000, "USD") == "USD 90,000.00\u2013120,000.00"
    assert format_money_range(4_500, 4_500, "USD") == "USD 45.00"
    assert format_money_range(None, 12_000_000, "USD") == "up to USD 120,000.00"
    assert format_money_range(9_000_000, None, "EUR") == "from EUR 90,000.00"
    assert format_money_range(None, None, "USD") == ""
