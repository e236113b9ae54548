"""What a chat completion cost, from OpenAI's list prices.

Prices are USD per 1M tokens, Standard processing tier, text tokens, as published on
https://openai.com/api/pricing/ and each model's page under
https://developers.openai.com/api/docs/models/ (checked 2026-11-22). A model missing here has no
known price and its cost is reported as unknown, never guessed: fine-tuned models, Batch and
Priority tiers and other servers' models are priced differently. Cached input tokens (reported in
`usage.prompt_tokens_details.cached_tokens`) bill at the cached rate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal


@dataclass(frozen=True)
class Price:
    input: Decimal
    output: Decimal
    cached_input: Decimal | None = None


def _price(input_usd: str, output_usd: str, cached_usd: str | None = None) -> Price:
    return Price(
        Decimal(input_usd), Decimal(output_usd), Decimal(cached_usd) if cached_usd else None
    )


PRICES_PER_MILLION: dict[str, Price] = {
    "gpt-5": _price("1.25", "10.00", "0.125"),
    "gpt-5-mini": _price("0.25", "2.00", "0.025"),
    "gpt-5-nano": _price("0.05", "0.40", "0.005"),
    "gpt-4.1": _price("2.00", "8.00", "0.50"),
    "gpt-4.1-mini": _price("0.40", "1.60", "0.10"),
    "gpt-4.1-nano": _price("0.10", "0.40", "0.025"),
    "gpt-4o": _price("2.50", "10.00", "1.25"),
    # The first GPT-4o snapshot kept its launch price.
    "gpt-4o-2024-05-13": _price("5.00", "15.00"),
    "gpt-4o-mini": _price("0.15", "0.60", "0.075"),
    "o3": _price("2.00", "8.00", "0.50"),
    "o4-mini": _price("1.10", "4.40", "0.275"),
}

_SNAPSHOT_SUFFIX = re.compile(r"-\d{4}-\d{2}-\d{2}$")


def price_for(model: str) -> Price | None:
    """The price of a model id or of a dated snapshot of it (`gpt-4o-mini-2024-07-18`)."""
    return PRICES_PER_MILLION.get(model) or PRICES_PER_MILLION.get(_SNAPSHOT_SUFFIX.sub("", model))


def cost_micro_usd(
    model: str, *, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0
) -> int | None:
    """Millionths of a dollar, rounded half up; `None` when the model has no known price.

    One dollar per million tokens is one micro-dollar per token, so the sum needs no scaling.
    """
    price = price_for(model)
    if price is None:
        return None
    cached = min(max(cached_tokens, 0), prompt_tokens)
    cached_rate = price.cached_input if price.cached_input is not None else price.input
    total = (
        (prompt_tokens - cached) * price.input
        + cached * cached_rate
        + completion_tokens * price.output
    )
    return int(total.quantize(Decimal(1), rounding=ROUND_HALF_UP))
