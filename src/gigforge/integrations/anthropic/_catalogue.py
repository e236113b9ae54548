"""The sandbox's model catalogue: Anthropic's lineup as the Models API lists it in late 2026.

Newest first, as `GET /v1/models` orders them. Ids and lifecycles follow the SDK's model list
and deprecation table and Anthropic's model pages; a release date Anthropic does not publish is
the sandbox's own approximation, used only for ordering. Dated snapshots answer to their alias
(`claude-haiku-4-5` is `claude-haiku-4-5-20251001`), and a message names the snapshot.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any


def _model(
    model_id: str,
    display_name: str,
    released: str,
    lifecycle: str = "active",
    *,
    retires: str | None = None,
) -> dict[str, Any]:
    return {
        "type": "model",
        "id": model_id,
        "display_name": display_name,
        "created_at": f"{released}T00:00:00Z",
        "lifecycle": lifecycle,
        "retires_at": f"{retires}T00:00:00Z" if retires else None,
    }


DEFAULT_MODELS: tuple[Mapping[str, Any], ...] = (
    _model("claude-fable-5-2", "Claude Fable 5.2", "2026-11-10"),
    _model("claude-mythos-5-2", "Claude Mythos 5.2", "2026-11-10"),
    _model("claude-haiku-5-5", "Claude Haiku 5.5", "2026-10-07"),
    _model("claude-sonnet-5-5", "Claude Sonnet 5.5", "2026-09-24"),
    _model("claude-opus-5-5", "Claude Opus 5.5", "2026-09-23"),
    _model("claude-fable-5-1", "Claude Fable 5.1", "2026-08-26"),
    _model("claude-mythos-5-1", "Claude Mythos 5.1", "2026-08-26"),
    _model("claude-opus-5", "Claude Opus 5", "2026-07-24"),
    _model("claude-fable-5", "Claude Fable 5", "2026-06-30"),
    _model("claude-mythos-5", "Claude Mythos 5", "2026-06-30"),
    _model("claude-sonnet-5", "Claude Sonnet 5", "2026-05-19"),
    _model("claude-opus-4-8", "Claude Opus 4.8", "2026-05-05"),
    _model("claude-opus-4-7", "Claude Opus 4.7", "2026-03-01"),
    _model("claude-mythos-preview", "Claude Mythos Preview", "2026-02-20", "retired"),
    _model("claude-sonnet-4-6", "Claude Sonnet 4.6", "2026-02-17"),
    _model("claude-opus-4-6", "Claude Opus 4.6", "2026-02-05"),
    _model("claude-opus-4-5-20251101", "Claude Opus 4.5", "2025-11-24"),
    _model("claude-haiku-4-5-20251001", "Claude Haiku 4.5", "2025-10-15"),
    _model(
        "claude-sonnet-4-5-20250929",
        "Claude Sonnet 4.5",
        "2025-09-29",
        "deprecated",
        retires="2026-11-30",
    ),
    _model("claude-opus-4-1-20250805", "Claude Opus 4.1", "2025-08-05", "retired"),
    _model("claude-opus-4-20250514", "Claude Opus 4", "2025-05-22", "retired"),
    _model("claude-sonnet-4-20250514", "Claude Sonnet 4", "2025-05-22", "retired"),
    _model("claude-3-5-haiku-20241022", "Claude Haiku 3.5", "2024-10-22", "retired"),
)

_SNAPSHOT = re.compile(r"^(?P<alias>.+)-\d{8}$")


def aliases(models: tuple[Mapping[str, Any], ...]) -> dict[str, str]:
    """Every callable name, alias or id, mapped to the id a message reports."""
    names: dict[str, str] = {}
    for model in models:
        if model.get("lifecycle") == "retired":
            continue
        model_id = str(model["id"])
        names[model_id] = model_id
        snapshot = _SNAPSHOT.match(model_id)
        if snapshot is not None:
            names[snapshot["alias"]] = model_id
    return names
