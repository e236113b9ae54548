"""What an agent is: a declared spec (data) plus a small class that plans, runs and checks.

Agents are declared as integrations are: an `AgentSpec` says what the agent can do, which model
task it asks the router for, how many of its tasks may run at once and how many model calls one
attempt may make, and the rubric its judges score. The class holds the code: `plan` splits a
`TaskBrief` into steps, `run` carries them out through the `LLMCall` it is handed (the only road
to a model, so the caller's router applies budgets, masking and fallback), and `check` applies
the deterministic checks. The package touches no database: the jobs domain stores what it returns.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, Field, model_validator

from gigforge.integrations.framework.capabilities import ChatMessage
from gigforge.integrations.framework.spec import ModelTask


class AgentSpec(BaseModel, frozen=True):
    slug: str = Field(pattern=r"^[a-z][a-z0-9_-]{1,40}$")
    name: str
    capabilities: tuple[str, ...] = Field(min_length=1)
    model_task: ModelTask
    max_concurrency: int = Field(default=2, ge=1, description="tasks running at once per user")
    step_cap: int = Field(default=6, ge=1, description="most model calls one attempt may make")
    rubric: tuple[str, ...] = Field(min_length=1, description="the judges' criteria")


class InputFile(BaseModel, frozen=True):
    name: str = Field(min_length=1, max_length=200)
    content: str


class TaskBrief(BaseModel, frozen=True):
    """One task for an agent. `requirements` are checked deterministically; their keys depend on
    the kind (see docs/agents.md): min_words, max_words, required_sections (Markdown headings);
    language_from, language_to; columns {name: type} and required [names]; tests (pytest
    source)."""

    title: str = Field(min_length=1, max_length=300)
    instructions: str = ""
    kind: str = Field(min_length=1)
    requirements: dict[str, Any] = Field(default_factory=dict)
    inputs: tuple[InputFile, ...] = ()
    feedback: str | None = Field(
        default=None, description="The judges' or the user's feedback for a retry or revision"
    )

    @model_validator(mode="after")
    def _word_bounds(self) -> TaskBrief:
        low, high = self.requirements.get("min_words"), self.requirements.get("max_words")
        if isinstance(low, int) and isinstance(high, int) and low > high:
            raise ValueError("min_words is above max_words")
        return self

    def with_feedback(self, feedback: str | None) -> TaskBrief:
        return self.model_copy(update={"feedback": feedback})


class Step(BaseModel, frozen=True):
    name: str
    purpose: str


class StepRecord(BaseModel, frozen=True):
    name: str
    model: str = Field(description="The label of the model that answered")
    cost_micro_usd: int = Field(ge=0)


class ProducedFile(BaseModel, frozen=True):
    name: str
    media_type: str
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


class AgentOutput(BaseModel, frozen=True):
    files: list[ProducedFile]
    summary: str
    steps: list[StepRecord]
    cost_micro_usd: int = Field(ge=0)

    def file(self, name: str) -> ProducedFile | None:
        return next((item for item in self.files if item.name == name), None)


class Check(BaseModel, frozen=True):
    """One deterministic check: its name, whether it passed, and what a retry should fix."""

    name: str
    passed: bool
    detail: str = ""


@dataclass(frozen=True)
class Answer:
    """One model answer as agents see it: its text, what it cost, and which model wrote it."""

    text: str
    cost_micro_usd: int
    label: str


class LLMCall(Protocol):
    """The caller's road to a model (the jobs domain adapts the model router to it)."""

    async def __call__(
        self, *, task: ModelTask, messages: Sequence[ChatMessage], max_tokens: int
    ) -> Answer: ...


class Agent(abc.ABC):
    spec: ClassVar[AgentSpec]

    @abc.abstractmethod
    def plan(self, brief: TaskBrief) -> list[Step]:
        """The steps `run` will take for this brief, each one model call at most."""

    @abc.abstractmethod
    async def run(self, brief: TaskBrief, llm: LLMCall, workdir: Path) -> AgentOutput:
        """Carry out the plan within the step cap; `workdir` is this attempt's own folder."""

    @abc.abstractmethod
    def check(self, brief: TaskBrief, output: AgentOutput, workdir: Path) -> list[Check]:
        """The deterministic checks of `output` against the brief's requirements."""
