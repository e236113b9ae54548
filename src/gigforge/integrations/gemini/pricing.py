"""What a `generateContent` call cost, from Google's list prices for the Gemini API.

Prices are USD per 1M tokens, paid tier, Standard processing, text input, as published on
https://ai.google.dev/gemini-api/docs/pricing (checked 2026-11-22). Output prices include
thinking tokens, which Google bills as output. The Pro models charge more for every token of a
request whose prompt is longer than 200k tokens. Cached prompt tokens (reported in
`usageMetadata.cachedContentTokenCount`, and counted inside `promptTokenCount`) bill at the
context-caching rate; cache storage is billed by the hour and is not part of a call's cost.

Unpaid (free-tier) quota costs nothing, but a response does not say which quota served it, so
the cost is always the paid list price. A model missing here has no known price and its cost is
reported as unknown, never guessed: preview snapshots, tuned models, Batch and Flex tiers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

LONG_PROMPT_TOKENS = 200_000


@dataclass(frozen=True)
class Rates:
    input: Decimal
    output: Decimal
    cached_input: Decimal | None = None


@dataclass(frozen=True)
class Price:
    standard: Rates
    long_prompt: Rates | None = None
    """The rates for a prompt over 200k tokens, where they differ."""

    def rates(self, prompt_tokens: int) -> Rates:
        if prompt_tokens > LONG_PROMPT_TOKENS and self.long_prompt is not None:
            return self.long_prompt
        return self.standard


def _rates(input_usd: str, output_usd: str, cached_usd: str | None = None) -> Rates:
    return Rates(
        Decimal(input_usd), Decimal(output_usd), Decimal(cached_usd) if cached_usd else None
    )


PRICES_PER_MILLION: dict[str, Price] = {
    "gemini-3-pro-preview": Price(
        _rates("2.00", "12.00", "0.20"), long_prompt=_rates("4.00", "18.00", "0.40")
    ),
    "gemini-3-flash-preview": Price(_rates("0.50", "3.00", "0.05")),
    "gemini-2.5-pro": Price(
        _rates("1.25", "10.00", "0.125"), long_prompt=_rates("2.50", "15.00", "0.25")
    ),
    "gemini-2.5-flash": Price(_rates("0.30", "2.50", "0.03")),
    "gemini-2.5-flash-lite": Price(_rates("0.10", "0.40", "0.01")),
    "gemini-2.0-flash": Price(_rates("0.10", "0.40", "0.025")),
    "gemini-2.0-flash-lite": Price(_rates("0.075", "0.30")),
}

# A stable version of a model carries a three-digit suffix: `gemini-2.0-flash-001`.
_STABLE_VERSION_SUFFIX = re.compile(r"-\d{3}$")


def price_for(model: str) -> Price | None:
    """The price of a model id, its resource name (`models/...`) or a stable version of it."""
    name = model.removeprefix("models/")
    return PRICES_PER_MILLION.get(name) or PRICES_PER_MILLION.get(
        _STABLE_VERSION_SUFFIX.sub("", name)
    )


def cost_micro_usd(
    model: str, *, prompt_tokens: int, output_tokens: int, cached_tokens: int = 0
) -> int | None:
    """Millionths of a dollar, rounded half up; `None` when the model has no known price.

    One dollar per million tokens is one micro-dollar per token, so the sum needs no scaling.
    `output_tokens` is the answer plus any thinking tokens.
    """
    price = price_for(model)
    if price is None:
        return None
    rates = price.rates(prompt_tokens)
    cached = min(max(cached_tokens, 0), prompt_tokens)
    cached_rate = rates.cached_input if rates.cached_input is not None else rates.input
    total = (
        (prompt_tokens - cached) * rates.input + cached * cached_rate + output_tokens * rates.output
    )
    return int(total.quantize(Decimal(1), rounding=ROUND_HALF_UP))
