"""The translation agent: translates the inputs paragraph by paragraph.

Paragraphs are the unit of completeness: the source is split at blank lines and sent in at
most `step_cap` chunks, each reply must give one translated paragraph per source paragraph, and
the check refuses a translation with a paragraph missing, empty or left as the source.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import ClassVar

from gigforge.agents.checks import paragraphs, translation_checks
from gigforge.agents.errors import AgentFailed
from gigforge.agents.prompts import ModelSteps, step_prompt
from gigforge.agents.spec import (
    Agent,
    AgentOutput,
    AgentSpec,
    Check,
    LLMCall,
    ProducedFile,
    Step,
    TaskBrief,
)
from gigforge.integrations.framework.spec import ModelTask

SPEC = AgentSpec(
    slug="translation",
    name="Translation agent",
    capabilities=("translation",),
    model_task=ModelTask.translation,
    rubric=("fidelity to the source", "fluency", "terminology", "completeness"),
)


def source_text(brief: TaskBrief) -> str:
    return "\n\n".join(item.content.strip() for item in brief.inputs if item.content.strip())


def target_language(brief: TaskBrief) -> str:
    language = brief.requirements.get("language_to")
    if not isinstance(language, str) or not language.strip():
        raise AgentFailed("A translation brief needs requirements.language_to")
    return language.strip()


def chunks(items: list[str], most: int) -> list[list[str]]:
    size = max(1, math.ceil(len(items) / most))
    return [items[start : start + size] for start in range(0, len(items), size)]


class TranslationAgent(Agent):
    spec: ClassVar[AgentSpec] = SPEC

    def plan(self, brief: TaskBrief) -> list[Step]:
        parts = chunks(paragraphs(source_text(brief)), self.spec.step_cap)
        return [
            Step(name=f"translate-{number}", purpose=f"Translate {len(part)} paragraph(s)")
            for number, part in enumerate(parts, 1)
        ]

    async def run(self, brief: TaskBrief, llm: LLMCall, workdir: Path) -> AgentOutput:
        language = target_language(brief)
        source = paragraphs(source_text(brief))
        if not source:
            raise AgentFailed("There is nothing to translate: the brief has no input text")
        steps = ModelSteps(self.spec, llm)
        translated: list[str] = []
        for number, part in enumerate(chunks(source, self.spec.step_cap), 1):
            text = "\n\n".join(part)
            reply = await steps.ask(
                f"translate-{number}",
                step_prompt(self.spec, "translate", brief, sections=[("Source", text)]),
                max_tokens=len(text.split()) * 3 + 100,
            )
            translated.extend(paragraphs(reply))
        result = "\n\n".join(translated) + "\n"
        name = f"translation.{language}.md"
        (workdir / name).write_text(result)
        return AgentOutput(
            files=[ProducedFile(name=name, media_type="text/markdown", content=result.encode())],
            summary=f"{len(source)} paragraph(s) translated into {language}",
            steps=steps.records,
            cost_micro_usd=steps.cost_micro_usd,
        )

    def check(self, brief: TaskBrief, output: AgentOutput, workdir: Path) -> list[Check]:
        text = output.files[0].text if output.files else ""
        return translation_checks(source_text(brief), text)
