"""`parse_major_units`: the one parser for amounts people type, shared by forms and schemas."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gigforge.kit.money import MAX_MINOR_UNITS, InvalidAmount, parse_major_units


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("1,500.00", "USD", 150_000),
        ("1500", "USD", 150_000),
        (" 1500.5 ", "usd", 150_050),
        (".5", "EUR", 50),
        ("1500.", "USD", 150_000),
        ("1,234,567", "JPY", 1_234_567),
        ("1.234", "KWD", 1_234),
        ("0", "USD", 0),
        ("1." + "0" * 5000, "USD", 100),
        (Decimal("1.50"), "USD", 150),
        (Decimal("1E+2"), "USD", 10_000),
        (7, "JPY", 7),
    ],
)
def test_typed_amounts_convert_exactly_with_the_currency_exponent(
    text: str | Decimal | int, currency: str, minor: int
) -> None:
    assert parse_major_units(text, currency) == minor


@pytest.mark.parametrize(
    ("text", "currency", "message"),
    [
        ("1.005", "USD", "USD amounts have at most 2 decimals."),
        ("1.5", "JPY", "JPY amounts are whole numbers, without decimals."),
        ("1.2345", "KWD", "KWD amounts have at most 3 decimals."),
        (Decimal("0.001"), "EUR", "EUR amounts have at most 2 decimals."),
    ],
)
def test_more_decimals_than_the_currency_has_is_refused_with_a_clear_message(
    text: str | Decimal, currency: str, message: str
) -> None:
    with pytest.raises(InvalidAmount) as caught:
        parse_major_units(text, currency)
    assert str(caught.value) == message
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    "text", ["", "   ", "abc", "1e17", "1,50", "12,34.5", "$100", ".", "1 000"]
)
def test_text_that_is_not_an_amount_is_refused(text: str) -> None:
    with pytest.raises(InvalidAmount, match="Enter an amount"):
        parse_major_units(text, "USD")


@pytest.mark.parametrize("text", ["-1", Decimal("-0.5")])
def test_negative_amounts_are_refused(text: str | Decimal) -> None:
    with pytest.raises(InvalidAmount, match="cannot be negative"):
        parse_major_units(text, "USD")


@pytest.mark.parametrize(
    "text",
    ["92233720368547758.08", "99999999999999999999999", "1" * 10_000, Decimal("1E+999999")],
)
def test_amounts_no_money_column_can_hold_are_refused(text: str | Decimal) -> None:
    with pytest.raises(InvalidAmount, match="too large"):
        parse_major_units(text, "USD")


def test_the_largest_storable_amount_is_accepted() -> None:
    assert parse_major_units("92,233,720,368,547,758.07", "USD") == MAX_MINOR_UNITS


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity")])
def test_non_finite_decimals_are_refused(value: Decimal) -> None:
    with pytest.raises(InvalidAmount, match="finite"):
        parse_major_units(value, "USD")
