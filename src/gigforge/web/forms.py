"""Connect forms generated from an integration's config JSON Schema, and back again.

The schema is the contract the API and CLI already use, so the dashboard never keeps its own
list of fields per vendor. Only the shapes the config models use are handled: strings,
numbers, booleans, enums and lists of strings, each possibly nullable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData

FIELD_PREFIX = "config."


@dataclass(frozen=True)
class FormField:
    name: str
    input_name: str
    label: str
    kind: str  # text | password | number | checkbox | select | list
    required: bool
    description: str | None
    default: str
    choices: tuple[str, ...] = ()
    step: str = "any"


def _concrete(schema: dict[str, Any]) -> dict[str, Any]:
    """`X | None` appears as anyOf [X, null]; the form only cares about X."""
    options = [item for item in schema.get("anyOf", []) if item.get("type") != "null"]
    return {**schema, **options[0]} if options else schema


def _kind(prop: dict[str, Any]) -> str:
    if prop.get("writeOnly") or prop.get("format") == "password":
        return "password"
    if "enum" in prop:
        return "select"
    kind = prop.get("type")
    if kind == "boolean":
        return "checkbox"
    if kind in {"integer", "number"}:
        return "number"
    if kind == "array":
        return "list"
    return "text"


def _default(prop: dict[str, Any], kind: str) -> str:
    value = prop.get("default")
    if value is None or kind == "password":
        return ""
    if kind == "list":
        return ", ".join(str(item) for item in value)
    if kind == "checkbox":
        return "on" if value else ""
    return str(value)


def fields_of(schema: dict[str, Any]) -> list[FormField]:
    required = set(schema.get("required", []))
    fields = []
    for name, raw in schema.get("properties", {}).items():
        prop = _concrete(raw)
        kind = _kind(prop)
        fields.append(
            FormField(
                name=name,
                input_name=FIELD_PREFIX + name,
                label=str(prop.get("title") or name.replace("_", " ").capitalize()),
                kind=kind,
                required=name in required,
                description=prop.get("description"),
                default=_default(prop, kind),
                choices=tuple(str(choice) for choice in prop.get("enum", ())),
                step="1" if prop.get("type") == "integer" else "any",
            )
        )
    return fields


def config_from_form(schema: dict[str, Any], form: FormData) -> dict[str, Any]:
    """Empty inputs are left out so the config model's defaults apply; the model validates."""
    config: dict[str, Any] = {}
    for field in fields_of(schema):
        raw = form.get(field.input_name)
        value = raw.strip() if isinstance(raw, str) else ""
        if field.kind == "checkbox":
            config[field.name] = value == "on"
        elif field.kind == "list":
            if value:
                config[field.name] = [item.strip() for item in value.split(",") if item.strip()]
        elif value:
            config[field.name] = value
    return config
