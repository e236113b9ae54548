"""The research and summary agent: reads the inputs it is given and writes a sourced summary.

It never browses: the sources are the brief's inputs, so every claim can be traced to one.
Two steps: notes per source, then the summary with the sections the brief requires (by default
Summary, Key points and Sources). Checks: word range, the sections, and a Sources section that
names every input.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from gigforge.agents.checks import length_checks, section_checks
from gigforge.agents.prompts import ModelSteps, require_text, step_prompt, strip_fence, word_budget
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
    slug="research",
    name="Research and summary agent",
    capabilities=("research", "summary", "report"),
    model_task=ModelTask.research,
    rubric=("faithfulness to the sources", "coverage", "concision", "clarity"),
)
DEFAULT_SECTIONS = ("Summary", "Key points", "Sources")
NOTES_TOKENS = 600


def required_sections(brief: TaskBrief) -> list[str]:
    return [str(name) for name in brief.requirements.get("required_sections") or DEFAULT_SECTIONS]


class ResearchAgent(Agent):
    spec: ClassVar[AgentSpec] = SPEC

    def plan(self, brief: TaskBrief) -> list[Step]:
        return [
            Step(name="notes", purpose="Note the claims of each source"),
            Step(name="summary", purpose="Write the summary from the notes, naming sources"),
        ]

    async def run(self, brief: TaskBrief, llm: LLMCall, workdir: Path) -> AgentOutput:
        steps = ModelSteps(self.spec, llm)
        brief = brief.model_copy(
            update={
                "requirements": {
                    **brief.requirements,
                    "required_sections": required_sections(brief),
                }
            }
        )
        notes = await steps.ask(
            "notes", step_prompt(self.spec, "notes", brief), max_tokens=NOTES_TOKENS
        )
        summary = await steps.ask(
            "summary",
            step_prompt(self.spec, "summary", brief, sections=[("Notes", notes)]),
            max_tokens=word_budget(brief, default=300),
        )
        text = strip_fence(require_text(summary, "summary"), "markdown")
        (workdir / "summary.md").write_text(text)
        return AgentOutput(
            files=[
                ProducedFile(name="summary.md", media_type="text/markdown", content=text.encode())
            ],
            summary=f"Summary of {len(brief.inputs)} source(s): {brief.title}",
            steps=steps.records,
            cost_micro_usd=steps.cost_micro_usd,
        )

    def check(self, brief: TaskBrief, output: AgentOutput, workdir: Path) -> list[Check]:
        text = output.files[0].text if output.files else ""
        sources = text.casefold().rpartition("sources")[2]
        unnamed = [item.name for item in brief.inputs if item.name.casefold() not in sources]
        return [
            *length_checks(text, brief.requirements),
            *section_checks(text, required_sections(brief)),
            Check(
                name="sources_named",
                passed=not unnamed,
                detail=f"sources not named: {', '.join(unnamed)}" if unnamed else "all named",
            ),
        ]
