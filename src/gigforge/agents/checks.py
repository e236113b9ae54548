"""Deterministic checks: what can be verified without a model, before any judge is asked.

Each function returns `Check`s whose `detail` says what a retry must fix, since failed checks
become part of the feedback the next attempt reads.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from gigforge.agents.spec import Check

_WORD = re.compile(r"\S+")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$", re.M)
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_LANGUAGE_TAG = re.compile(r"^\[[a-z]{2,3}(?:-[A-Za-z]{2,4})?\]\s*")


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


def headings(text: str) -> list[str]:
    return [title.strip() for _, title in _HEADING.findall(text)]


def paragraphs(text: str) -> list[str]:
    return [part.strip() for part in _PARAGRAPH_BREAK.split(text.strip()) if part.strip()]


def length_checks(text: str, requirements: Mapping[str, Any]) -> list[Check]:
    words = word_count(text)
    low, high = requirements.get("min_words"), requirements.get("max_words")
    checks = [Check(name="not_empty", passed=words > 0, detail="the text is empty")]
    if isinstance(low, int):
        checks.append(
            Check(
                name="min_words",
                passed=words >= low,
                detail=f"{words} words; at least {low} are required",
            )
        )
    if isinstance(high, int):
        checks.append(
            Check(
                name="max_words",
                passed=words <= high,
                detail=f"{words} words; at most {high} are allowed",
            )
        )
    return checks


def section_checks(text: str, required: Sequence[str]) -> list[Check]:
    """Each required section is a Markdown heading of its own (any level, any case)."""
    present = {title.casefold() for title in headings(text)}
    missing = [name for name in required if name.strip().casefold() not in present]
    return [
        Check(
            name="required_sections",
            passed=not missing,
            detail=f"missing sections: {', '.join(missing)}" if missing else "all present",
        )
    ]


def structure_checks(text: str, requirements: Mapping[str, Any]) -> list[Check]:
    required = requirements.get("required_sections") or []
    checks = [
        Check(
            name="has_title",
            passed=bool(re.search(r"^#\s+\S", text, re.M)),
            detail="the document needs a top-level `# Title` heading",
        )
    ]
    if required:
        checks.extend(section_checks(text, [str(name) for name in required]))
    return checks


def translation_checks(source: str, translation: str) -> list[Check]:
    """Every source paragraph has its own translated paragraph: none missing, none empty, none
    left as the source text."""
    sources, targets = paragraphs(source), paragraphs(translation)
    untranslated = [
        number
        for number, (original, translated) in enumerate(zip(sources, targets, strict=False), 1)
        if _normalized(_LANGUAGE_TAG.sub("", translated)) in ("", _normalized(original))
    ]
    return [
        Check(
            name="paragraph_count",
            passed=len(sources) == len(targets),
            detail=f"{len(sources)} source paragraphs, {len(targets)} translated",
        ),
        Check(
            name="all_translated",
            passed=not untranslated,
            detail=(
                "paragraphs left empty or untranslated: " + ", ".join(map(str, untranslated))
                if untranslated
                else "every paragraph translated"
            ),
        ),
    ]


def _normalized(text: str) -> str:
    return " ".join(text.split()).casefold()


def _is_int(value: str) -> bool:
    return re.fullmatch(r"[+-]?\d+", value) is not None


def _is_float(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return value.strip().casefold() not in ("nan", "inf", "-inf", "+inf", "infinity")


def _is_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_bool(value: str) -> bool:
    return value.casefold() in ("true", "false")


def _is_email(value: str) -> bool:
    return re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value) is not None


COLUMN_TYPES: dict[str, Callable[[str], bool]] = {
    "str": lambda value: True,
    "int": _is_int,
    "float": _is_float,
    "bool": _is_bool,
    "date": _is_date,
    "datetime": _is_datetime,
    "email": _is_email,
}


def csv_checks(text: str, schema: Mapping[str, Any]) -> list[Check]:
    """The CSV has exactly the schema's columns in order, every value has its column's type,
    required columns are never empty, and there is at least one row."""
    columns: dict[str, str] = dict(schema.get("columns") or {})
    required = [str(name) for name in schema.get("required") or []]
    unknown_types = sorted({kind for kind in columns.values() if kind not in COLUMN_TYPES})
    if unknown_types:
        return [Check(name="schema", passed=False, detail=f"unknown types: {unknown_types}")]
    rows = list(csv.reader(io.StringIO(text)))
    header, body = (rows[0], rows[1:]) if rows else ([], [])
    checks = [
        Check(
            name="columns",
            passed=header == list(columns),
            detail=f"columns {header}; the schema asks for {list(columns)}",
        ),
        Check(name="has_rows", passed=bool(body), detail=f"{len(body)} data rows"),
    ]
    if header != list(columns):
        return checks
    bad_types: list[str] = []
    missing: list[str] = []
    ragged = [number for number, row in enumerate(body, 2) if len(row) != len(header)]
    for number, row in enumerate(body, 2):
        if len(row) != len(header):
            continue
        for name, value in zip(header, row, strict=True):
            if not value.strip():
                if name in required:
                    missing.append(f"line {number} {name}")
            elif not COLUMN_TYPES[columns[name]](value.strip()):
                bad_types.append(f"line {number} {name}={value!r} is not {columns[name]}")
    checks += [
        Check(
            name="row_width",
            passed=not ragged,
            detail=f"rows with the wrong number of fields: {ragged[:10]}",
        ),
        Check(name="types", passed=not bad_types, detail="; ".join(bad_types[:10])),
        Check(name="required_values", passed=not missing, detail="; ".join(missing[:10])),
    ]
    return checks


def failed(checks: Sequence[Check]) -> list[Check]:
    return [check for check in checks if not check.passed]


def describe_failures(checks: Sequence[Check]) -> str:
    return "\n".join(f"- {check.name}: {check.detail}" for check in failed(checks))
