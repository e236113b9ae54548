"""Money is stored as integer minor units plus an ISO 4217 code; the API shows major units."""

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import PlainSerializer

# ISO 4217 currencies whose minor unit is not 1/100.
_EXPONENTS = {
    "BHD": 3,
    "IQD": 3,
    "JOD": 3,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "TND": 3,
    "BIF": 0,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "ISK": 0,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "PYG": 0,
    "RWF": 0,
    "UGX": 0,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
}


def minor_to_major(amount_minor: int, currency: str) -> Decimal:
    return Decimal(amount_minor).scaleb(-_EXPONENTS.get(currency.upper(), 2))


def major_to_minor(amount: Decimal | int | str, currency: str) -> int:
    """Exact conversion; an amount finer than the currency's minor unit is an error."""
    scaled = Decimal(str(amount)).scaleb(_EXPONENTS.get(currency.upper(), 2))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} {currency} has more decimals than the currency allows")
    return int(scaled)


# The largest amount a Money column holds (a signed 64-bit integer on every database).
MAX_MINOR_UNITS = 2**63 - 1
# "1500", "1,500.00", ".5", "1500.": digits, optionally with thousands commas in groups of 3.
_TYPED_AMOUNT = re.compile(r"^(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d*)?$")


class InvalidAmount(ValueError):
    """An amount that is not a valid amount of its currency; the message says how to fix it."""


def currency_exponent(currency: str) -> int:
    """Decimals of the currency's minor unit: 2 for USD, 0 for JPY, 3 for KWD."""
    return _EXPONENTS.get(currency.upper(), 2)


def parse_major_units(text: str | Decimal | int, currency: str) -> int:
    """An amount in major units, as a person types it ("1,500.00", "1500") or as a parsed
    Decimal, converted exactly to minor units. Refuses negative amounts, exponents, more
    decimals than the currency has, and amounts no Money column can hold."""
    code = currency.strip().upper()
    exponent = currency_exponent(code)
    if isinstance(text, str):
        typed = text.strip()
        if not typed:
            raise InvalidAmount("Enter an amount.")
        if typed.startswith("-"):
            raise InvalidAmount("The amount cannot be negative.")
        if not _TYPED_AMOUNT.match(typed) or not any(ch.isdigit() for ch in typed):
            raise InvalidAmount(f"Enter an amount such as 1,500.00 or 1500 (not {typed[:40]!r}).")
        amount = Decimal(typed.replace(",", ""))
    else:
        try:
            amount = Decimal(text)
        except (InvalidOperation, TypeError, ValueError):
            raise InvalidAmount("Enter an amount such as 1,500.00 or 1500.") from None
        if not amount.is_finite():
            raise InvalidAmount("Enter a finite amount such as 1,500.00 or 1500.")
        if amount < 0:
            raise InvalidAmount("The amount cannot be negative.")
    # Read the digits rather than doing decimal arithmetic, which rounds past 28 digits.
    _, digit_tuple, power = amount.as_tuple()
    assert isinstance(power, int)  # finite
    digits = list(digit_tuple)
    while power < 0 and len(digits) > 1 and digits[-1] == 0:
        digits.pop()
        power += 1
    if not any(digits):
        return 0
    if power + exponent < 0:
        if exponent == 0:
            raise InvalidAmount(f"{code} amounts are whole numbers, without decimals.")
        raise InvalidAmount(
            f"{code} amounts have at most {exponent} decimal{'s' if exponent > 1 else ''}."
        )
    if len(digits) + power + exponent > len(str(MAX_MINOR_UNITS)):
        raise InvalidAmount("The amount is too large.")
    minor = int("".join(map(str, digits)) + "0" * (power + exponent))
    if minor > MAX_MINOR_UNITS:
        raise InvalidAmount("The amount is too large.")
    return minor


# A JSON number, as the API contract shows amounts, computed exactly from minor units.
MajorAmount = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]


def format_major(amount: Decimal | int, currency: str) -> str:
    """How every page shows an amount: the code, thousands separators and exactly the
    currency's decimals ("USD 1,400.00", "JPY 15,000", "KWD 12.500")."""
    code = currency.strip().upper()
    return f"{code} {_grouped(Decimal(amount), code)}"


def format_money(amount_minor: int, currency: str) -> str:
    """`format_major` for an amount stored in minor units."""
    return format_major(minor_to_major(amount_minor, currency), currency)


def format_money_range(low_minor: int | None, high_minor: int | None, currency: str) -> str:
    """A range such as "USD 90,000.00\u2013120,000.00": one amount when its ends agree, "up to"
    or "from" when one end is open, and "" when neither end is known."""
    code = currency.strip().upper()
    if low_minor is None and high_minor is None:
        return ""
    if high_minor is None or low_minor == high_minor:
        assert low_minor is not None
        text = format_money(low_minor, code)
        return text if high_minor is not None else f"from {text}"
    if low_minor is None:
        return f"up to {format_money(high_minor, code)}"
    low = _grouped(minor_to_major(low_minor, code), code)
    high = _grouped(minor_to_major(high_minor, code), code)
    return f"{code} {low}\u2013{high}"


def _grouped(amount: Decimal, currency: str) -> str:
    exponent = _EXPONENTS.get(currency, 2)
    return f"{amount:,.{exponent}f}"
