"""Personal data out before a prompt leaves, back in when the answer returns.

Emails, phone numbers, card numbers (Luhn-checked), IBANs (mod-97 checked) and the names the
caller knows (the user's and their clients') become placeholders like `[EMAIL_1]`; the same
value always gets the same placeholder within one request, so the model can still refer to it,
and `restore` puts the originals back into the answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b")
_CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
_PHONE = re.compile(r"(?<![\w+])\+?\d[\d ().-]{7,}\d\b")
_PLACEHOLDER = re.compile(r"\[(EMAIL|PHONE|CARD|IBAN|NAME)_(\d+)\]")


def _luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _iban_valid(candidate: str) -> bool:
    compact = candidate.replace(" ", "")
    rearranged = compact[4:] + compact[:4]
    numeric = "".join(str(int(char, 36)) for char in rearranged)
    return 15 <= len(compact) <= 34 and int(numeric) % 97 == 1


@dataclass
class Masker:
    names: tuple[str, ...] = ()
    _by_value: dict[str, str] = field(default_factory=dict)
    _by_placeholder: dict[str, str] = field(default_factory=dict)
    _counts: dict[str, int] = field(default_factory=dict)

    def _placeholder(self, kind: str, value: str) -> str:
        if value not in self._by_value:
            self._counts[kind] = self._counts.get(kind, 0) + 1
            placeholder = f"[{kind}_{self._counts[kind]}]"
            self._by_value[value] = placeholder
            self._by_placeholder[placeholder] = value
        return self._by_value[value]

    def mask(self, text: str) -> str:
        text = _EMAIL.sub(lambda m: self._placeholder("EMAIL", m.group(0)), text)
        text = _IBAN.sub(
            lambda m: (
                self._placeholder("IBAN", m.group(0)) if _iban_valid(m.group(0)) else m.group(0)
            ),
            text,
        )
        text = _CARD.sub(
            lambda m: (
                self._placeholder("CARD", m.group(0))
                if _luhn(re.sub(r"\D", "", m.group(0)))
                else m.group(0)
            ),
            text,
        )
        text = _PHONE.sub(
            lambda m: (
                self._placeholder("PHONE", m.group(0))
                if sum(c.isdigit() for c in m.group(0)) >= 9
                else m.group(0)
            ),
            text,
        )
        for name in sorted(self.names, key=len, reverse=True):
            if len(name) >= 3:
                text = re.sub(
                    rf"\b{re.escape(name)}\b",
                    lambda m: self._placeholder("NAME", m.group(0)),
                    text,
                    flags=re.IGNORECASE,
                )
        return text

    def restore(self, text: str) -> str:
        return _PLACEHOLDER.sub(lambda m: self._by_placeholder.get(m.group(0), m.group(0)), text)


def names_from(values: Iterable[str | None]) -> tuple[str, ...]:
    """A person's full name and its parts long enough to be identifying."""
    found: list[str] = []
    for value in values:
        if not value:
            continue
        found.append(value.strip())
        found.extend(part for part in value.split() if len(part) >= 3)
    return tuple(dict.fromkeys(found))
