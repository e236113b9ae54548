"""Messages beside form fields, from pydantic's validation errors and the services' problems.

The dashboard's account forms validate with the API's own schemas and call the same services,
so their rules live in one place; this module only turns the failures into sentences placed
next to the field they are about.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from gigforge.kit.errors import GigforgeError

FieldErrors = dict[str, str]


def _sentence(message: str) -> str:
    message = message.strip()
    for prefix in ("Value error, ", "value is not a valid email address: "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    if not message:
        return message
    message = message[0].upper() + message[1:]
    return message if message.endswith((".", "!", "?")) else message + "."


def _field_of(loc: Any, rename: Mapping[str, str]) -> str | None:
    if not isinstance(loc, (list, tuple)) or not loc:
        return None
    name = str(loc[-1])
    return rename.get(name, name)


def from_validation(
    exc: ValidationError,
    *,
    rename: Mapping[str, str] | None = None,
    missing: Mapping[str, str] | None = None,
) -> FieldErrors:
    """The first message per field; `missing` words the message for an empty required one."""
    rename = rename or {}
    missing = missing or {}
    errors: FieldErrors = {}
    for error in exc.errors():
        field = _field_of(error.get("loc"), rename)
        if field is None or field in errors:
            continue
        empty = error.get("type") == "missing" or error.get("input") in ("", None)
        if empty and field in missing:
            errors[field] = missing[field]
        else:
            errors[field] = _sentence(str(error.get("msg", "")))
    return errors


def from_problem(
    exc: GigforgeError,
    *,
    rename: Mapping[str, str] | None = None,
    missing: Mapping[str, str] | None = None,
) -> FieldErrors:
    """The problem's detail beside each field its `errors` extension names (a `loc` ending
    with the field), or under the empty key when it names none."""
    rename = rename or {}
    missing = missing or {}
    errors: FieldErrors = {}
    listed = exc.extensions.get("errors")
    for error in listed if isinstance(listed, list) else []:
        field = _field_of(error.get("loc"), rename) if isinstance(error, dict) else None
        if field is None or field in errors:
            continue
        if error.get("type") == "missing" and field in missing:
            errors[field] = missing[field]
        else:
            errors[field] = _sentence(exc.detail)
    if not errors:
        errors[""] = _sentence(exc.detail)
    return errors
