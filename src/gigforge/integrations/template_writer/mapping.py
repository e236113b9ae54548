"""Pure translations between a chat request and a template's name and variables.

The contract: the request's `model` names the template (`template:proposal`), and the last
user message is a JSON object whose keys become the template's variables; earlier messages,
system prompts, `max_tokens` and `temperature` do not apply to a fixed text and are ignored.
A key set to `null` counts as not given. The shipped templates read these keys:

    title        text          the job's title                      (both; required)
    name         text          the freelancer's name, to sign with  (proposal; required)
    client_name  text          whom to greet or report on
    skills       list of text  the freelancer's skills the job asks for
    highlights   list of text  relevant past work (proposal), points to notice (summary)
    budget       text/number   the price offered, as it should read ("$1,200 fixed")
    description  text          the posting's text (summary)

Any other key is passed through untouched for the user's own templates.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from gigforge.integrations.framework import ChatMessage, ChatResult, Permanent, Usage
from gigforge.integrations.template_writer.spec import (
    MODEL_PREFIX,
    SPEC,
    TEMPLATE_FINISH_REASON,
)

TEMPLATE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
EXAMPLE = '{"title": "Booking API in Django", "name": "Ana Ruiz", "skills": ["Python", "Django"]}'


class DraftVariables(BaseModel):
    """The documented keys with their types, so a list given as text (which `join` would
    split into letters) is refused instead of rendered."""

    model_config = ConfigDict(extra="allow")

    title: str | None = None
    name: str | None = None
    client_name: str | None = None
    skills: list[str] | None = None
    highlights: list[str] | None = None
    budget: str | int | float | None = None
    description: str | None = None


def _rejected(detail: str) -> Permanent:
    return Permanent(f"{SPEC.title}: {detail}", integration=SPEC.slug)


def model_for(name: str) -> str:
    return f"{MODEL_PREFIX}{name}"


def template_name(model: str, known: Sequence[str]) -> str:
    """The template a request's model names, if it is one of `known`."""
    name = model.removeprefix(MODEL_PREFIX)
    if model.startswith(MODEL_PREFIX) and name in known:
        return name
    offered = ", ".join(model_for(each) for each in known) or "none"
    raise _rejected(f"no template for model {model!r}; the templates are {offered}")


def is_template_name(name: str) -> bool:
    return TEMPLATE_NAME.fullmatch(name) is not None


def to_variables(messages: Sequence[ChatMessage]) -> dict[str, Any]:
    """The variables in the last user message, or `Permanent` saying what the message must be."""
    content = next((m.content for m in reversed(messages) if m.role == "user"), None)
    if content is None:
        raise _rejected(f"it needs a user message holding a JSON object, such as {EXAMPLE}")
    try:
        raw = json.loads(content)
    except ValueError as exc:
        raise _rejected(
            f"it fills templates from a JSON object in the last user message, such as "
            f"{EXAMPLE}; that message is not JSON ({exc})"
        ) from None
    if not isinstance(raw, dict):
        raise _rejected(
            f"the last user message must be a JSON object, such as {EXAMPLE}, "
            f"not a JSON {type(raw).__name__}"
        )
    try:
        variables = DraftVariables.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        )
        raise _rejected(f"the template variables are not valid: {problems}") from None
    return {
        key: value
        for key, value in variables.model_dump(exclude_unset=True).items()
        if value is not None
    }


def to_chat_result(name: str, text: str) -> ChatResult:
    """A template's text, marked by `finish_reason` as not written by a model; it costs
    nothing and uses no tokens."""
    return ChatResult(
        text=text.strip(),
        model=model_for(name),
        usage=Usage(prompt_tokens=0, completion_tokens=0),
        finish_reason=TEMPLATE_FINISH_REASON,
        cost_micro_usd=0,
    )
