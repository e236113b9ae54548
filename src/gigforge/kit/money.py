"""Money is stored as integer minor units plus an ISO 4217 code; the API shows major units."""

from decimal import Decimal
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


# A JSON number, as the API contract shows amounts, computed exactly from minor units.
MajorAmount = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]
