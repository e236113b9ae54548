"""Scrub secrets and personal data from anything about to be written to a log.

Log lines travel further than the database (aggregators, support tickets, screenshots), so a
credential or an email address that reaches one has leaked. Redaction runs on every record,
which is why the patterns are compiled once and each runs only when a cheap substring check
says it could match.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from functools import lru_cache
from itertools import pairwise
from typing import Any

REDACTED = "[REDACTED]"
EMAIL_PLACEHOLDER = "[EMAIL]"
CARD_PLACEHOLDER = "[CARD]"

# Whole words of a key name; a key is secret when one of them (or an adjacent pair) matches, so
# `password_hash` and `X-Api-Key` are caught but `tokens_used` or `passenger` are not.
_SECRET_WORDS = frozenset(
    {
        "password",
        "passwords",
        "passwd",
        "secret",
        "secrets",
        "token",
        "authorization",
        "cookie",
        "cookies",
        "apikey",
        "credential",
        "credentials",
        "session",
        "signature",
    }
)
_SECRET_WORD_PAIRS = frozenset({("api", "key"), ("access", "key"), ("private", "key")})
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_WORD_SEPARATORS = re.compile(r"[^a-z0-9]+")

# The same vocabulary, for `name=value` pairs inside free text (query strings, form bodies,
# reprs). The name may carry a prefix or suffix (`X-Amz-Signature`, `db_password`). The hints
# only decide whether the patterns are worth running.
_SECRET_NAME_HINTS = (
    "password",
    "passwd",
    "secret",
    "token",
    "authorization",
    "cookie",
    "key",
    "credential",
    "session",
    "signature",
)
_SENSITIVE_NAME = (
    r"[\w.-]*?(?:password|passwd|secret|token|authorization|cookie|api[_-]?key|"
    r"access[_-]?key|private[_-]?key|credential|session|signature)[\w.-]*"
)
_QUOTED_VALUE = r"\"[^\"]*\"|'[^']*'"

_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_GIGFORGE_KEY = re.compile(r"(?<![A-Za-z0-9_-])gf[rp]?_[A-Za-z0-9_-]+")
_AUTH_SCHEME = re.compile(r"\b((?:bearer|basic)\s+)[A-Za-z0-9._~+/-]+=*", re.IGNORECASE)
_SECRET_PAIR = re.compile(
    rf"(?<![\w.-])({_SENSITIVE_NAME}=)(?:{_QUOTED_VALUE}|[^\s&;,'\"]+)", re.IGNORECASE
)
_QUOTED_SECRET_PAIR = re.compile(
    rf"((?P<quote>[\"']){_SENSITIVE_NAME}(?P=quote)\s*:\s*)(?:{_QUOTED_VALUE})", re.IGNORECASE
)
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
# A run of 13-19 digits, in groups split by spaces or dashes, standing on its own: not the tail
# of an identifier (a UUID's last groups, "ab12-4111...") nor followed by more of one.
_CARD_CANDIDATE = re.compile(
    r"(?<![A-Za-z])(?<![A-Za-z0-9]-)[0-9](?<![0-9]{2})(?:[ -]?[0-9]){12,18}(?![0-9])"
    r"(?!-?[A-Za-z0-9])"
)
_DIGIT_RUN = re.compile(r"[0-9]{4}")


@lru_cache(maxsize=1024)
def _is_secret_key(key: str) -> bool:
    words = _WORD_SEPARATORS.split(_CAMEL_BOUNDARY.sub("_", key).lower())
    if any(word in _SECRET_WORDS for word in words):
        return True
    return any(pair in _SECRET_WORD_PAIRS for pair in pairwise(words))


def _passes_luhn(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = ord(char) - 48
        if position % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def _mask_card(match: re.Match[str]) -> str:
    digits = match[0].replace(" ", "").replace("-", "")
    return CARD_PLACEHOLDER if _passes_luhn(digits) else match[0]


def _redact_text(text: str) -> str:
    # Substring checks run at C speed and let most strings (event names, routes, levels) skip
    # every pattern; each pattern only runs when its tell-tale is present.
    if "eyJ" in text:
        text = _JWT.sub(REDACTED, text)
    if "gf" in text:
        text = _GIGFORGE_KEY.sub(REDACTED, text)
    lowered = text.lower()
    if "bearer" in lowered or "basic" in lowered:
        text = _AUTH_SCHEME.sub(rf"\1{REDACTED}", text)
    if ("=" in text or ":" in text) and any(hint in lowered for hint in _SECRET_NAME_HINTS):
        text = _SECRET_PAIR.sub(rf"\1{REDACTED}", text)
        text = _QUOTED_SECRET_PAIR.sub(rf'\1"{REDACTED}"', text)
    if "@" in text:
        text = _EMAIL.sub(EMAIL_PLACEHOLDER, text)
    if _DIGIT_RUN.search(text):
        text = _CARD_CANDIDATE.sub(_mask_card, text)
    return text


def redact(value: object) -> object:
    """Return a copy safe to log; the input is left untouched because callers may still use it."""
    if isinstance(value, str):
        return _redact_text(value)
    if isinstance(value, dict):
        return {
            key: REDACTED if isinstance(key, str) and _is_secret_key(key) else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    if isinstance(value, tuple):
        return tuple(redact(item) for item in value)
    return value


def redact_processor(
    logger: object, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Structlog processor; it must run after `format_exc_info` so tracebacks are scrubbed too."""
    return {
        key: REDACTED if _is_secret_key(key) else redact(item) for key, item in event_dict.items()
    }
