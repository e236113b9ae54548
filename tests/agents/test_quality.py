"""The quality gate: the judge panel's averaging, disagreement and unusable samples, and the
retry with feedback that stops at its attempt, budget and step caps."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import pytest

from agent_support import SandboxLLM
from gigforge.agents import (
    AgentFailed,
    AgentOutput,
    AgentRegistry,
    Answer,
    JudgeFailed,
    ProducedFile,
    TaskBrief,
    judge,
    run_with_gate,
)
from gigforge.agents.builtin.writing import SPEC as WRITING
from gigforge.integrations.framework.capabilities import ChatMessage
from gigforge.integrations.framework.spec import ModelTask

REGISTRY = AgentRegistry.from_entry_points([])
RUBRIC_SPEC = WRITING.model_copy(update={"rubric": ("clarity", "accuracy")})
BRIEF = TaskBrief(
    title="Pricing freelance work",
    kind="article",
    requirements={"min_words": 200, "max_words": 320, "required_sections": ["Introduction"]},
)
OUTPUT = AgentOutput(
    files=[ProducedFile(name="article.md", media_type="text/markdown", content=b"# T\n\nText")],
    summary="",
    steps=[],
    cost_micro_usd=0,
)


class Scripted:
    """Gives the listed answers in order, each costing 10."""

    def __init__(self, answers: Sequence[str]) -> None:
        self.answers = list(answers)
        self.prompts: list[str] = []

    async def __call__(
        self, *, task: ModelTask, messages: Sequence[ChatMessage], max_tokens: int
    ) -> Answer:
        assert task is ModelTask.judge
        self.prompts.append(messages[-1].content)
        return Answer(
            text=self.answers.pop(0), cost_micro_usd=10, label=f"judge-{len(self.prompts)}"
        )


def scores(clarity: float, accuracy: float, reasons: str = "") -> str:
    return json.dumps({"scores": {"clarity": clarity, "accuracy": accuracy}, "reasons": reasons})


async def test_the_verdict_averages_samples_and_records_their_disagreement() -> None:
    llm = Scripted([scores(3, 3, "thin"), scores(4, 4, "fine"), scores(5, 5, "great")])
    verdict = await judge(BRIEF, OUTPUT, llm, spec=RUBRIC_SPEC)
    assert verdict.score == 4.0
    assert math.isclose(verdict.disagreement, 0.8165, abs_tol=1e-4)
    assert verdict.reasons == "thin"
    assert [sample.mean for sample in verdict.samples] == [3.0, 4.0, 5.0]
    assert verdict.cost_micro_usd == 30
    assert [prompt.splitlines()[4] for prompt in llm.prompts] == [
        "Sample: 1",
        "Sample: 2",
        "Sample: 3",
    ]


async def test_the_score_is_rounded_to_two_decimals() -> None:
    llm = Scripted([scores(4, 3), scores(4, 4), scores(4, 4)])
    verdict = await judge(BRIEF, OUTPUT, llm, spec=RUBRIC_SPEC)
    assert verdict.score == 3.83


async def test_unusable_samples_are_recorded_and_asked_again() -> None:
    llm = Scripted(
        [
            "I think it is quite good!",
            scores(4, 4),
            json.dumps({"scores": {"clarity": 9, "accuracy": 4}}),
            '```json\n{"scores": {"clarity": 5, "accuracy": 4}, "reasons": "ok"}\n```',
            json.dumps({"scores": {"clarity": 4}}),
            scores(3, 4, "weak ending"),
        ]
    )
    verdict = await judge(BRIEF, OUTPUT, llm, spec=RUBRIC_SPEC)
    assert [sample.error for sample in verdict.samples] == [
        "no JSON object in the answer",
        None,
        "the score for 'clarity' is outside 0..5",
        None,
        "no numeric score for 'accuracy'",
        None,
    ]
    assert verdict.score == 4.0
    assert verdict.reasons == "weak ending"


async def test_too_few_usable_samples_within_the_step_cap_fail_the_verdict() -> None:
    llm = Scripted(["{not json"] * 10)
    with pytest.raises(JudgeFailed, match="0 of 6 judge answers were usable; 3 are needed"):
        await judge(BRIEF, OUTPUT, llm, spec=RUBRIC_SPEC)
    assert len(llm.prompts) == RUBRIC_SPEC.step_cap


async def test_a_boolean_is_not_a_score() -> None:
    llm = Scripted([json.dumps({"scores": {"clarity": True, "accuracy": 4}})] + [scores(4, 4)] * 3)
    verdict = await judge(BRIEF, OUTPUT, llm, spec=RUBRIC_SPEC)
    assert verdict.samples[0].error == "no numeric score for 'clarity'"


async def test_a_first_attempt_below_the_threshold_is_retried_with_the_judges_feedback(
    llm: SandboxLLM, tmp_path: Path
) -> None:
    result = await run_with_gate(
        REGISTRY.get("writing"),
        BRIEF,
        llm,
        tmp_path,
        threshold=4.0,
        budget_cap_micro_usd=1_000_000,
    )
    first, second = result.attempts
    assert first.verdict is not None
    assert first.verdict.score < 4.0
    assert first.feedback is None
    assert second.feedback is not None
    assert f"The judges scored {first.verdict.score:.2f} of 5" in second.feedback
    assert first.verdict.reasons in second.feedback
    assert second.verdict is not None
    assert second.verdict.score >= 4.0
    assert result.verdict == second.verdict
    assert not result.below_threshold
    assert result.cost_micro_usd == first.cost_micro_usd + second.cost_micro_usd
    draft_prompts = [call.prompt for call in llm.calls if "/ step: draft" in call.prompt]
    assert "=== Feedback ===" not in draft_prompts[0]
    assert "=== Feedback ===" in draft_prompts[1]
    assert (tmp_path / "attempt-2" / "article.md").exists()


async def test_failed_checks_become_feedback_for_the_retry(tmp_path: Path) -> None:
    def too_short_first(task: ModelTask, prompt: str, reply: str) -> str:
        if "/ step: revise" in prompt and "=== Feedback ===" not in prompt:
            return "# Pricing\n\n## Introduction\n\nToo short."
        return reply

    llm = SandboxLLM(rewrite=too_short_first)
    result = await run_with_gate(
        REGISTRY.get("writing"), BRIEF, llm, tmp_path, threshold=4.0, budget_cap_micro_usd=10**6
    )
    first, second = result.attempts
    assert [check.name for check in first.checks if not check.passed] == ["min_words"]
    assert first.verdict is not None
    assert first.verdict.score <= 2.0
    assert second.feedback is not None
    assert "Failed checks:\n- min_words: 6 words; at least 200 are required" in second.feedback
    assert all(check.passed for check in result.checks)
    assert not result.below_threshold


async def test_retries_stop_at_max_attempts_and_deliver_the_best_marked_below(
    llm: SandboxLLM, tmp_path: Path
) -> None:
    result = await run_with_gate(
        REGISTRY.get("writing"),
        BRIEF,
        llm,
        tmp_path,
        threshold=5.0,
        budget_cap_micro_usd=10**9,
        max_attempts=3,
    )
    assert [attempt.number for attempt in result.attempts] == [1, 2, 3]
    assert result.below_threshold
    best = max(attempt.verdict.score for attempt in result.attempts if attempt.verdict)
    assert result.verdict is not None
    assert result.verdict.score == best
    assert len(llm.calls) == 3 * (3 + 3)


async def test_retries_stop_when_the_next_attempt_would_break_the_budget(
    llm: SandboxLLM, tmp_path: Path
) -> None:
    probe = await run_with_gate(
        REGISTRY.get("writing"), BRIEF, SandboxLLM(), tmp_path / "probe",
        threshold=4.0, budget_cap_micro_usd=10**9, max_attempts=1,
    )  # fmt: skip
    one_attempt = probe.cost_micro_usd
    result = await run_with_gate(
        REGISTRY.get("writing"), BRIEF, llm, tmp_path,
        threshold=4.0, budget_cap_micro_usd=2 * one_attempt - 1,
    )  # fmt: skip
    assert len(result.attempts) == 1
    assert result.below_threshold
    assert result.cost_micro_usd == one_attempt


async def test_an_agent_that_keeps_failing_is_not_looped(tmp_path: Path) -> None:
    def no_code(task: ModelTask, prompt: str, reply: str) -> str:
        return "I would rather not write code today."

    llm = SandboxLLM(rewrite=no_code)
    with pytest.raises(AgentFailed, match="no Python file"):
        await run_with_gate(
            REGISTRY.get("code"),
            TaskBrief(title="Script", kind="script"),
            llm,
            tmp_path,
            threshold=4.0,
            budget_cap_micro_usd=10**9,
            max_attempts=2,
        )
    assert len(llm.calls) == 2 * 2


async def test_a_judge_panel_that_fails_leaves_the_output_marked_below(tmp_path: Path) -> None:
    def garbled_judges(task: ModelTask, prompt: str, reply: str) -> str:
        return "no idea" if task is ModelTask.judge else reply

    llm = SandboxLLM(rewrite=garbled_judges)
    result = await run_with_gate(
        REGISTRY.get("writing"), BRIEF, llm, tmp_path,
        threshold=4.0, budget_cap_micro_usd=10**9, max_attempts=2,
    )  # fmt: skip
    assert result.verdict is None
    assert result.below_threshold
    assert [attempt.error is not None for attempt in result.attempts] == [True, True]
    assert "judge answers were usable" in (result.attempts[1].feedback or "")
    assert llm.tasks().count(ModelTask.judge) == 2 * WRITING.step_cap


async def test_a_refused_retry_delivers_the_earlier_attempt(tmp_path: Path) -> None:
    from gigforge.kit.errors import Forbidden

    inner = SandboxLLM()

    async def refusing_after_first(
        *, task: ModelTask, messages: Sequence[ChatMessage], max_tokens: int
    ) -> Answer:
        if "=== Feedback ===" in messages[-1].content:
            raise Forbidden("The AI budget does not allow this request")
        return await inner(task=task, messages=messages, max_tokens=max_tokens)

    result = await run_with_gate(
        REGISTRY.get("writing"), BRIEF, refusing_after_first, tmp_path,
        threshold=4.0, budget_cap_micro_usd=10**9,
    )  # fmt: skip
    assert [attempt.error for attempt in result.attempts] == [
        None,
        "The AI budget does not allow this request",
    ]
    assert result.below_threshold
    assert result.verdict == result.attempts[0].verdict


async def test_a_refusal_on_the_first_attempt_reaches_the_caller(tmp_path: Path) -> None:
    from gigforge.kit.errors import Forbidden

    async def refusing(
        *, task: ModelTask, messages: Sequence[ChatMessage], max_tokens: int
    ) -> Answer:
        raise Forbidden("no budget")

    with pytest.raises(Forbidden):
        await run_with_gate(
            REGISTRY.get("writing"), BRIEF, refusing, tmp_path,
            threshold=4.0, budget_cap_micro_usd=10**9,
        )  # fmt: skip
