"""A plugin agent as a third party would ship it: registered under the `gigforge.agents`
entry point group as `haiku = "gigforge_haiku_agent:HaikuAgent"`."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from gigforge.agents import (
    Agent,
    AgentOutput,
    AgentSpec,
    Check,
    LLMCall,
    ProducedFile,
    Step,
    TaskBrief,
)
from gigforge.agents.checks import length_checks
from gigforge.agents.prompts import ModelSteps, step_prompt
from gigforge.integrations.framework.spec import ModelTask


class HaikuAgent(Agent):
    spec: ClassVar[AgentSpec] = AgentSpec(
        slug="haiku",
        name="Haiku agent",
        capabilities=("haiku",),
        model_task=ModelTask.writing,
        step_cap=1,
        rubric=("imagery", "form"),
    )

    def plan(self, brief: TaskBrief) -> list[Step]:
        return [Step(name="write", purpose="Write the haiku")]

    async def run(self, brief: TaskBrief, llm: LLMCall, workdir: Path) -> AgentOutput:
        steps = ModelSteps(self.spec, llm)
        text = await steps.ask("write", step_prompt(self.spec, "write", brief), max_tokens=40)
        return AgentOutput(
            files=[ProducedFile(name="haiku.txt", media_type="text/plain", content=text.encode())],
            summary="A haiku",
            steps=steps.records,
            cost_micro_usd=steps.cost_micro_usd,
        )

    def check(self, brief: TaskBrief, output: AgentOutput, workdir: Path) -> list[Check]:
        return length_checks(output.files[0].text, {"max_words": 17})


class NotAnAgent:
    spec = HaikuAgent.spec


class CodeImpostor(HaikuAgent):
    spec: ClassVar[AgentSpec] = HaikuAgent.spec.model_copy(update={"slug": "code"})
