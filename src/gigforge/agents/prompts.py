"""How agents talk to models: one prompt layout for every step, and a counter that holds the
step cap.

A step prompt opens with `Gigforge agent: <slug> / step: <step>`, then `Key: value` lines
(`Kind`, `Title`, `Requirements` as one JSON line), then `=== Name ===` sections (the
instructions, the inputs, the previous step's text, the feedback for a retry). A model reads it
as a clear brief; the sandbox models (`integrations.framework.sandbox_text`) recognise it and
answer deterministically, which is what makes the agents demonstrable offline.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from gigforge.agents.errors import AgentFailed, StepCapReached
from gigforge.agents.spec import AgentSpec, Answer, LLMCall, StepRecord, TaskBrief
from gigforge.integrations.framework.capabilities import ChatMessage

SYSTEM = (
    "You are one of Gigforge's delivery agents. Do exactly the step you are asked for, follow "
    "the requirements to the letter, and reply with the deliverable only, no preamble."
)
_FENCE = re.compile(r"```([\w+-]*)[^\n]*\n(.*?)```", re.S)
_FENCE_FILE = re.compile(r"```[\w+-]*[ \t]+file=([\w./-]+)[^\n]*\n(.*?)```", re.S)


def section(name: str, text: str) -> str:
    return f"=== {name} ===\n{text.strip()}"


def step_prompt(
    spec: AgentSpec, step: str, brief: TaskBrief, *, sections: Iterable[tuple[str, str]] = ()
) -> str:
    lines = [
        f"Gigforge agent: {spec.slug} / step: {step}",
        f"Kind: {brief.kind}",
        f"Title: {brief.title}",
        f"Requirements: {json.dumps(brief.requirements)}",
        "",
    ]
    parts = ["\n".join(lines)]
    if brief.instructions.strip():
        parts.append(section("Instructions", brief.instructions))
    parts.extend(section(f"Input: {item.name}", item.content) for item in brief.inputs)
    parts.extend(section(name, text) for name, text in sections)
    if brief.feedback:
        parts.append(section("Feedback", brief.feedback))
    return "\n\n".join(parts) + "\n"


class ModelSteps:
    """The model calls of one attempt: refuses the call past the spec's step cap and records
    each call's model and cost."""

    def __init__(self, spec: AgentSpec, llm: LLMCall) -> None:
        self._spec = spec
        self._llm = llm
        self.records: list[StepRecord] = []

    @property
    def cost_micro_usd(self) -> int:
        return sum(record.cost_micro_usd for record in self.records)

    @property
    def remaining(self) -> int:
        return self._spec.step_cap - len(self.records)

    async def ask(self, step: str, prompt: str, *, max_tokens: int) -> str:
        if self.remaining <= 0:
            raise StepCapReached(
                f"{self._spec.name} may make {self._spec.step_cap} model calls per attempt"
            )
        answer: Answer = await self._llm(
            task=self._spec.model_task,
            messages=[
                ChatMessage(role="system", content=SYSTEM),
                ChatMessage(role="user", content=prompt),
            ],
            max_tokens=max_tokens,
        )
        self.records.append(
            StepRecord(name=step, model=answer.label, cost_micro_usd=answer.cost_micro_usd)
        )
        return answer.text


def fenced_blocks(text: str, language: str | None = None) -> list[str]:
    """The bodies of the Markdown code fences in a reply, optionally of one language."""
    return [
        body
        for lang, body in _FENCE.findall(text)
        if language is None or lang.casefold() == language
    ]


def fenced_files(text: str) -> dict[str, str]:
    """Fences labelled ```python file=name.py, by file name."""
    return {name: body for name, body in _FENCE_FILE.findall(text)}


def strip_fence(text: str, language: str) -> str:
    """The first fence of `language` if the model used one, else the reply as it is."""
    blocks = fenced_blocks(text, language)
    return blocks[0] if blocks else text.strip() + "\n"


def word_budget(brief: TaskBrief, default: int = 400) -> int:
    """Enough completion tokens for the longest text the brief allows, with room for layout."""
    low, high = brief.requirements.get("min_words"), brief.requirements.get("max_words")
    if isinstance(high, int) and high > 0:
        words = high
    else:
        words = max(default, 2 * low if isinstance(low, int) else 0)
    return words * 2 + 200


def require_text(text: str, what: str) -> str:
    if not text.strip():
        raise AgentFailed(f"The model returned no {what}")
    return text
