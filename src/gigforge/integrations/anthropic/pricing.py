"""What a message cost, from Anthropic's list prices.

Prices are USD per 1M tokens for the standard tier, as published on
https://platform.claude.com/docs/en/about-claude/pricing and each model's overview page under
https://platform.claude.com/docs/en/about-claude/models/ (checked 2026-11-22). A model missing
here has no known price and its cost is reported as unknown, never guessed (retired models,
which the API no longer serves, are left out); so is a message served another way than the
list price covers (priority tier, fast mode, US-only inference), which `mapping.message_cost`
tells from the usage it reads.

Anthropic bills input three ways: uncached `input_tokens`, cache writes
(`cache_creation_input_tokens`, 1.25x the input price for the 5-minute cache and 2x for the
1-hour one) and cache reads (`cache_read_input_tokens`, a per-model rate). Claude Haiku 5.5 bills
a whole request, output included, at higher rates once its prompt (input, cache writes and cache
reads together) passes 100,000 tokens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal


@dataclass(frozen=True)
class Rates:
    input: Decimal
    output: Decimal
    cache_write_5m: Decimal
    cache_write_1h: Decimal
    cache_read: Decimal


@dataclass(frozen=True)
class Price:
    standard: Rates
    long_prompt: Rates | None = None
    long_prompt_over: int | None = None

    def rates_for(self, prompt_tokens: int) -> Rates:
        over = self.long_prompt_over
        if self.long_prompt is not None and over is not None and prompt_tokens > over:
            return self.long_prompt
        return self.standard


def _rates(input_usd: str, output_usd: str, cache_read_usd: str) -> Rates:
    """Cache writes follow the documented multipliers of the input price."""
    base = Decimal(input_usd)
    return Rates(
        input=base,
        output=Decimal(output_usd),
        cache_write_5m=base * Decimal("1.25"),
        cache_write_1h=base * 2,
        cache_read=Decimal(cache_read_usd),
    )


def _price(input_usd: str, output_usd: str, cache_read_usd: str) -> Price:
    return Price(_rates(input_usd, output_usd, cache_read_usd))


_FABLE_5_1 = _price("10", "50", "0.25")
_FABLE_5 = _price("10", "50", "1")
_OPUS_4_5_TO_5 = _price("5", "25", "0.50")
_SONNET_5 = _price("2", "10", "0.20")
_SONNET_4_5 = _price("3", "15", "0.30")

PRICES_PER_MILLION: dict[str, Price] = {
    "claude-fable-5-1": _FABLE_5_1,
    "claude-mythos-5-1": _FABLE_5_1,
    "claude-fable-5": _FABLE_5,
    "claude-mythos-5": _FABLE_5,
    "claude-opus-5-5": _price("4", "20", "0.20"),
    "claude-opus-5": _OPUS_4_5_TO_5,
    "claude-opus-4-8": _OPUS_4_5_TO_5,
    "claude-opus-4-7": _OPUS_4_5_TO_5,
    "claude-opus-4-6": _OPUS_4_5_TO_5,
    "claude-opus-4-5": _OPUS_4_5_TO_5,
    # Sonnet 5.5's cache reads fell from $0.20 to $0.10 on 2026-10-07.
    "claude-sonnet-5-5": _price("2", "10", "0.10"),
    "claude-sonnet-5": _SONNET_5,
    "claude-sonnet-4-6": _SONNET_4_5,
    "claude-sonnet-4-5": _SONNET_4_5,
    "claude-haiku-5-5": Price(
        _rates("0.10", "0.50", "0.01"),
        long_prompt=_rates("0.50", "2.50", "0.05"),
        long_prompt_over=100_000,
    ),
    "claude-haiku-4-5": _price("1", "5", "0.10"),
}

# A dated snapshot (`claude-sonnet-4-5-20250929`) costs what its model does.
_SNAPSHOT_SUFFIX = re.compile(r"-\d{8}$")


def price_for(model: str) -> Price | None:
    return PRICES_PER_MILLION.get(model) or PRICES_PER_MILLION.get(_SNAPSHOT_SUFFIX.sub("", model))


def cost_micro_usd(
    model: str,
    *,
    input_tokens: int,
    output_tokens: int,
    cache_write_5m_tokens: int = 0,
    cache_write_1h_tokens: int = 0,
    cache_read_tokens: int = 0,
) -> int | None:
    """Millionths of a dollar, rounded half up; `None` when the model has no known price.

    One dollar per million tokens is one micro-dollar per token, so the sum needs no scaling.
    """
    price = price_for(model)
    if price is None:
        return None
    counts = [
        max(count, 0)
        for count in (
            input_tokens,
            output_tokens,
            cache_write_5m_tokens,
            cache_write_1h_tokens,
            cache_read_tokens,
        )
    ]
    uncached, output, write_5m, write_1h, read = counts
    rates = price.rates_for(uncached + write_5m + write_1h + read)
    total = (
        uncached * rates.input
        + output * rates.output
        + write_5m * rates.cache_write_5m
        + write_1h * rates.cache_write_1h
        + read * rates.cache_read
    )
    return int(total.quantize(Decimal(1), rounding=ROUND_HALF_UP))
