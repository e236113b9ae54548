"""Fallback chains: try a capability's connections in order until one answers.

A call moves on when a provider is failing for now (Transient), pacing us (RateLimited),
paused by its breaker (Unavailable) or does not offer the operation (NotSupported). Anything
else (a rejected request, expired credentials) is an answer about the request itself and is
raised at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import structlog

from gigforge.integrations.framework.errors import (
    NotSupported,
    RateLimited,
    Transient,
    Unavailable,
)
from gigforge.kit.errors import ServiceUnavailable

C = TypeVar("C")
T = TypeVar("T")

logger = structlog.get_logger("gigforge.integrations")

FALLBACK_ON = (Transient, RateLimited, Unavailable, NotSupported)


class NoProviderAnswered(ServiceUnavailable):
    code = "no-provider-answered"
    title = "No connection in the chain could answer"


@dataclass(frozen=True)
class Answered(Generic[T]):
    result: T
    answered_by: str
    skipped: tuple[tuple[str, str], ...] = ()


async def first_answer(
    chain: Sequence[tuple[str, C]], call: Callable[[C], Awaitable[T]]
) -> Answered[T]:
    """Call `call(candidate)` along the chain of (label, candidate); report who answered."""
    skipped: list[tuple[str, str]] = []
    for label, candidate in chain:
        try:
            result = await call(candidate)
        except FALLBACK_ON as exc:
            logger.warning("fallback", skipped=label, reason=type(exc).__name__)
            skipped.append((label, type(exc).__name__))
            continue
        return Answered(result, label, tuple(skipped))
    reasons = ", ".join(f"{label}: {reason}" for label, reason in skipped) or "the chain is empty"
    raise NoProviderAnswered(f"Every connection failed ({reasons})", skipped=skipped)
