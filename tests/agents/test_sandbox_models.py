"""The sandbox models answer agent steps and judge prompts deterministically, and do it through
a real connector's wire protocol (the OpenAI sandbox) as the router would reach them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import httpx
import pytest

from gigforge.agents import AgentRegistry, Answer, InputFile, TaskBrief, run_with_gate
from gigforge.integrations.framework import (
    ChatMessage,
    ChatRequest,
    HeaderCredentials,
    IntegrationRuntime,
    static_secret,
)
from gigforge.integrations.framework.sandbox_agents import judge_reply, parse_agent_prompt
from gigforge.integrations.framework.sandbox_text import parse_brief, sandbox_reply
from gigforge.integrations.framework.spec import ModelTask
from gigforge.integrations.openai import SPEC, OpenAIConfig, OpenAIConnector
from gigforge.integrations.openai.sandbox import SANDBOX_API_KEY, create_sandbox

REGISTRY = AgentRegistry.from_entry_points([])


def judge_prompt(*, feedback: bool = False, checks: str = "passed", sample: int = 1) -> str:
    lines = [
        "Gigforge judge: rubric",
        "Agent: writing",
        f"Sample: {sample}",
        'Criteria: ["clarity", "accuracy", "structure"]',
        f"Checks: {checks}",
        "",
        "=== Deliverable: article.md ===\n# Title\n\nSome text.",
    ]
    if feedback:
        lines.append("=== Feedback ===\nAdd examples.")
    return "\n".join(lines)


def mean(reply: str) -> float:
    scores = json.loads(reply)["scores"]
    assert set(scores) == {"clarity", "accuracy", "structure"}
    return sum(scores.values()) / len(scores)


def test_a_first_attempt_scores_below_four_and_a_retry_at_least_four() -> None:
    for sample in range(1, 8):
        assert 3.0 <= mean(judge_reply(judge_prompt(sample=sample))) < 4.0
        assert 4.0 <= mean(judge_reply(judge_prompt(sample=sample, feedback=True))) <= 5.0


def test_failed_checks_score_low_and_say_why() -> None:
    reply = judge_reply(judge_prompt(checks="failed: min_words", feedback=True))
    assert mean(reply) <= 2.0
    assert "min_words" in json.loads(reply)["reasons"]


def test_judge_answers_are_deterministic_and_vary_by_sample() -> None:
    assert sandbox_reply(judge_prompt()) == sandbox_reply(judge_prompt())
    replies = {sandbox_reply(judge_prompt(sample=n)) for n in range(1, 6)}
    assert len(replies) > 1


def test_agent_prompts_are_not_taken_for_proposal_briefs() -> None:
    prompt = (
        "Gigforge agent: writing / step: draft\nKind: article\nTitle: Tea\n"
        'Requirements: {"min_words": 20}\n\n=== Instructions ===\nShort.\n'
    )
    step = parse_agent_prompt(prompt)
    assert step is not None
    assert (step.agent, step.step, step.title, step.requirements) == (
        "writing",
        "draft",
        "Tea",
        {"min_words": 20},
    )
    assert step.sections == {"Instructions": "Short."}
    assert parse_brief(prompt) is None
    assert parse_agent_prompt("Job title: Tea\nJob skills: Python") is None


def test_an_unknown_agent_gets_the_generic_reply() -> None:
    assert sandbox_reply("Gigforge agent: poetry / step: write").startswith("Re: Gigforge")


@pytest.fixture
async def openai_llm() -> AsyncIterator[OpenAILLM]:
    client = IntegrationRuntime().client(
        SPEC.rebased("http://sandbox"),
        connection="test",
        credentials=HeaderCredentials(static_secret(SANDBOX_API_KEY)),
        inner=httpx.ASGITransport(app=create_sandbox().app),
    )
    async with client:
        yield OpenAILLM(OpenAIConnector(client, OpenAIConfig(api_key=SANDBOX_API_KEY)))


class OpenAILLM:
    """The `LLMCall` shape over one connector, as the jobs domain adapts the router."""

    model = "gpt-4o-mini"

    def __init__(self, connector: OpenAIConnector) -> None:
        self.connector = connector
        self.tasks: list[ModelTask] = []

    async def __call__(
        self, *, task: ModelTask, messages: Sequence[ChatMessage], max_tokens: int
    ) -> Answer:
        self.tasks.append(task)
        result = await self.connector.chat(
            ChatRequest(model=self.model, messages=list(messages), max_tokens=max_tokens)
        )
        assert result.finish_reason == "stop"
        return Answer(
            text=result.text,
            cost_micro_usd=result.cost_micro_usd or 0,
            label=f"openai:{result.model}",
        )


async def test_the_gate_runs_through_the_openai_sandbox(
    openai_llm: OpenAILLM, tmp_path: Path
) -> None:
    brief = TaskBrief(
        title="Tea shop page",
        kind="translation",
        requirements={"language_from": "en", "language_to": "es"},
        inputs=(InputFile(name="page.md", content="Fresh tea daily.\n\nOpen on Sundays."),),
    )
    result = await run_with_gate(
        REGISTRY.get("translation"), brief, openai_llm, tmp_path,
        threshold=4.0, budget_cap_micro_usd=10**6,
    )  # fmt: skip
    assert not result.below_threshold
    assert len(result.attempts) == 2
    assert result.output.files[0].text == "[es] Frish tie deoly.\n\n[es] Upin un Sandeys.\n"
    assert result.output.steps[0].model.startswith("openai:gpt-4o-mini")
    assert ModelTask.judge in openai_llm.tasks


def test_the_data_cleaner_keeps_masked_placeholders_for_the_router_to_restore() -> None:
    prompt = (
        "Gigforge agent: data / step: clean\nKind: csv\nTitle: People\n"
        'Requirements: {"columns": {"name": "str", "email": "email", "joined": "date"}, '
        '"required": ["email"]}\n\n'
        "=== Input: people.csv ===\nname,email,joined\nAnn,[EMAIL_1],[PHONE_1]\n"
    )
    assert sandbox_reply(prompt) == "```csv\nname,email,joined\nAnn,[EMAIL_1],[PHONE_1]\n```"


def test_the_pseudo_translation_keeps_masked_placeholders() -> None:
    prompt = (
        "Gigforge agent: translation / step: translate\nKind: translation\nTitle: Mail\n"
        'Requirements: {"language_to": "de"}\n\n=== Source ===\nWrite to [EMAIL_1] today.\n'
    )
    assert sandbox_reply(prompt) == "[de] Wroti tu [EMAIL_1] tudey."
