"""The writing agent: blog posts, articles and documentation, in Markdown.

Three steps: an outline that fixes the sections (the required ones first), a draft written to
the outline within the word range, and a revision that tightens the draft against the brief
(and against the feedback, on a retry). Checks: word range, a title, every required section.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from gigforge.agents.checks import length_checks, structure_checks
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
    slug="writing",
    name="Writing agent",
    capabilities=("blog_post", "article", "documentation"),
    model_task=ModelTask.writing,
    rubric=("relevance to the brief", "clarity", "structure", "accuracy", "tone"),
)
OUTLINE_TOKENS = 300


class WritingAgent(Agent):
    spec: ClassVar[AgentSpec] = SPEC

    def plan(self, brief: TaskBrief) -> list[Step]:
        return [
            Step(name="outline", purpose="Choose the sections, the required ones first"),
            Step(name="draft", purpose="Write every section within the word range"),
            Step(name="revise", purpose="Tighten the draft against the brief and feedback"),
        ]

    async def run(self, brief: TaskBrief, llm: LLMCall, workdir: Path) -> AgentOutput:
        steps = ModelSteps(self.spec, llm)
        outline = await steps.ask(
            "outline", step_prompt(self.spec, "outline", brief), max_tokens=OUTLINE_TOKENS
        )
        draft = await steps.ask(
            "draft",
            step_prompt(self.spec, "draft", brief, sections=[("Outline", outline)]),
            max_tokens=word_budget(brief),
        )
        revised = await steps.ask(
            "revise",
            step_prompt(self.spec, "revise", brief, sections=[("Draft", draft)]),
            max_tokens=word_budget(brief),
        )
        text = strip_fence(require_text(revised, "text"), "markdown")
        name = f"{brief.kind}.md"
        (workdir / name).write_text(text)
        return AgentOutput(
            files=[ProducedFile(name=name, media_type="text/markdown", content=text.encode())],
            summary=f'{brief.kind.replace("_", " ").capitalize()} "{brief.title}"',
            steps=steps.records,
            cost_micro_usd=steps.cost_micro_usd,
        )

    def check(self, brief: TaskBrief, output: AgentOutput, workdir: Path) -> list[Check]:
        text = output.files[0].text if output.files else ""
        return length_checks(text, brief.requirements) + structure_checks(text, brief.requirements)
