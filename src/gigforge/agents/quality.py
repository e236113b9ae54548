"""The quality gate: deterministic checks, then a judge panel, then a bounded retry.

The judges are model samples scoring the agent's rubric from 0 to 5. Each is asked for a bare
JSON object; an answer that does not parse, misses a criterion or scores outside 0..5 is kept
as an unparseable sample and does not count. Missing samples are asked for again, but never
past the agent's step cap: too few valid samples is a `JudgeFailed`, never a made-up score.
The verdict is the mean of the samples' means; their population standard deviation is the
panel's disagreement, and the lowest-scoring sample's reasons become the retry's feedback.

`run_with_gate` runs an attempt, checks it, judges it, and retries with feedback while an
attempt failed, attempts remain and the money spent plus the last attempt's cost fits the cap.
Nothing else loops. The best attempt goes to the user, marked when it is below the threshold.
"""

from __future__ import annotations

import asyncio
import json
import re
import statistics
from collections.abc import Sequence
from pathlib import Path

import structlog
from pydantic import BaseModel, Field

from gigforge.agents.checks import describe_failures, failed
from gigforge.agents.errors import AgentFailed, JudgeFailed, StepCapReached
from gigforge.agents.spec import (
    Agent,
    AgentOutput,
    AgentSpec,
    Answer,
    Check,
    LLMCall,
    TaskBrief,
)
from gigforge.integrations.framework.capabilities import ChatMessage
from gigforge.integrations.framework.spec import ModelTask
from gigforge.kit.errors import GigforgeError

logger = structlog.get_logger("gigforge.agents")

MIN_SAMPLES = 3
MAX_SCORE = 5.0
JUDGE_TOKENS = 400
DELIVERABLE_CHARS = 12_000
JUDGE_SYSTEM = (
    "You are a strict reviewer on Gigforge's judge panel. Score the deliverable against each "
    "criterion from 0 (unusable) to 5 (excellent). Reply with one JSON object and nothing "
    'else: {"scores": {"<criterion>": <number>}, "reasons": "<what to fix>"}.'
)
_OBJECT = re.compile(r"\{.*\}", re.S)


class JudgeSample(BaseModel, frozen=True):
    sample: int
    model: str
    scores: dict[str, float] | None = None
    mean: float | None = None
    reasons: str = ""
    error: str | None = Field(default=None, description="Why the answer could not be used")

    @property
    def valid(self) -> bool:
        return self.mean is not None


class Verdict(BaseModel, frozen=True):
    score: float = Field(ge=0, le=MAX_SCORE, description="Mean of the samples' means")
    samples: list[JudgeSample]
    disagreement: float = Field(ge=0, description="Population std dev of the samples' means")
    reasons: str = Field(description="The lowest-scoring sample's reasons")
    cost_micro_usd: int = Field(default=0, ge=0)


class AttemptRecord(BaseModel, frozen=True):
    number: int
    checks: list[Check]
    verdict: Verdict | None
    cost_micro_usd: int
    feedback: str | None = Field(description="The feedback this attempt was given")
    error: str | None = None


class GateResult(BaseModel, frozen=True):
    output: AgentOutput
    checks: list[Check]
    verdict: Verdict | None
    attempts: list[AttemptRecord]
    below_threshold: bool
    cost_micro_usd: int


class _Metered:
    """Counts what every call through it costs, including calls of a failed attempt."""

    def __init__(self, llm: LLMCall) -> None:
        self._llm = llm
        self.spent = 0

    async def __call__(
        self, *, task: ModelTask, messages: Sequence[ChatMessage], max_tokens: int
    ) -> Answer:
        answer = await self._llm(task=task, messages=messages, max_tokens=max_tokens)
        self.spent += answer.cost_micro_usd
        return answer


def judge_prompt(
    spec: AgentSpec, brief: TaskBrief, output: AgentOutput, sample: int, checks: Sequence[Check]
) -> str:
    failing = failed(checks)
    lines = [
        "Gigforge judge: rubric",
        f"Agent: {spec.slug}",
        f"Kind: {brief.kind}",
        f"Title: {brief.title}",
        f"Sample: {sample}",
        f"Criteria: {json.dumps(list(spec.rubric))}",
        f"Requirements: {json.dumps(brief.requirements)}",
        "Checks: "
        + ("failed: " + ", ".join(check.name for check in failing) if failing else "passed"),
        "",
    ]
    parts = ["\n".join(lines)]
    if brief.instructions.strip():
        parts.append(f"=== Instructions ===\n{brief.instructions.strip()}")
    if brief.feedback:
        parts.append(f"=== Feedback ===\n{brief.feedback.strip()}")
    for item in output.files:
        text = item.content.decode("utf-8", errors="replace")[:DELIVERABLE_CHARS]
        parts.append(f"=== Deliverable: {item.name} ===\n{text.strip()}")
    parts.append(
        "=== Reply format ===\nOne JSON object: "
        '{"scores": {criterion: number from 0 to 5}, "reasons": "what to fix"}'
    )
    return "\n\n".join(parts) + "\n"


def parse_sample(text: str, rubric: Sequence[str], *, sample: int, model: str) -> JudgeSample:
    """A judge's answer read defensively: anything unusable is recorded with why."""

    def unusable(error: str) -> JudgeSample:
        return JudgeSample(sample=sample, model=model, error=error)

    found = _OBJECT.search(text)
    if found is None:
        return unusable("no JSON object in the answer")
    try:
        data = json.loads(found.group(0))
    except json.JSONDecodeError as exc:
        return unusable(f"the JSON does not parse: {exc.msg}")
    raw = data.get("scores") if isinstance(data, dict) else None
    if not isinstance(raw, dict):
        return unusable("no scores object")
    scores: dict[str, float] = {}
    for criterion in rubric:
        value = raw.get(criterion)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return unusable(f"no numeric score for {criterion!r}")
        if not 0 <= value <= MAX_SCORE:
            return unusable(f"the score for {criterion!r} is outside 0..5")
        scores[criterion] = float(value)
    reasons = data.get("reasons")
    return JudgeSample(
        sample=sample,
        model=model,
        scores=scores,
        mean=round(statistics.fmean(scores.values()), 4),
        reasons=reasons.strip() if isinstance(reasons, str) else "",
    )


async def judge(
    brief: TaskBrief,
    output: AgentOutput,
    llm: LLMCall,
    *,
    spec: AgentSpec,
    samples: int = MIN_SAMPLES,
    checks: Sequence[Check] = (),
) -> Verdict:
    """At least `samples` (and at least 3) valid scores of `spec.rubric`, asked within
    max(samples, spec.step_cap) calls."""
    wanted = max(samples, MIN_SAMPLES)
    most_calls = max(wanted, spec.step_cap)
    collected: list[JudgeSample] = []
    cost = 0
    for number in range(1, most_calls + 1):
        if sum(item.valid for item in collected) >= wanted:
            break
        answer = await llm(
            task=ModelTask.judge,
            messages=[
                ChatMessage(role="system", content=JUDGE_SYSTEM),
                ChatMessage(role="user", content=judge_prompt(spec, brief, output, number, checks)),
            ],
            max_tokens=JUDGE_TOKENS,
        )
        cost += answer.cost_micro_usd
        item = parse_sample(answer.text, spec.rubric, sample=number, model=answer.label)
        if item.error:
            logger.info("judge sample unusable", sample=number, error=item.error)
        collected.append(item)
    valid = [item for item in collected if item.mean is not None]
    if len(valid) < wanted:
        raise JudgeFailed(
            f"{len(valid)} of {len(collected)} judge answers were usable; {wanted} are needed",
            samples=[item.model_dump() for item in collected],
            cost_micro_usd=cost,
        )
    means = [item.mean for item in valid if item.mean is not None]
    lowest = min(valid, key=lambda item: item.mean if item.mean is not None else MAX_SCORE)
    return Verdict(
        score=round(statistics.fmean(means), 2),
        samples=collected,
        disagreement=round(statistics.pstdev(means), 4),
        reasons=lowest.reasons,
        cost_micro_usd=cost,
    )


def retry_feedback(
    checks: Sequence[Check], verdict: Verdict | None, threshold: float, earlier: str | None
) -> str:
    parts = [earlier.strip()] if earlier and earlier.strip() else []
    if failed(checks):
        parts.append("Failed checks:\n" + describe_failures(checks))
    if verdict is not None:
        parts.append(
            f"The judges scored {verdict.score:.2f} of 5 (at least {threshold:.2f} is needed). "
            f"Their reasons: {verdict.reasons or 'none given'}"
        )
    return "\n\n".join(parts)


def _passed(checks: Sequence[Check], verdict: Verdict | None, threshold: float) -> bool:
    return not failed(checks) and verdict is not None and verdict.score >= threshold


async def run_with_gate(
    agent: Agent,
    brief: TaskBrief,
    llm: LLMCall,
    workdir: Path,
    *,
    threshold: float,
    budget_cap_micro_usd: int,
    max_attempts: int = 3,
    samples: int = MIN_SAMPLES,
) -> GateResult:
    """Run `agent` on `brief` until an attempt passes its checks and scores at least
    `threshold`, at most `max_attempts` times, and never starting an attempt that the money
    already spent plus the last attempt's cost would take past `budget_cap_micro_usd`. Each
    attempt works in its own `workdir/attempt-N`. Raises the last error only when no attempt
    produced any output; when the model road refuses a retry (a budget, no model), the best
    earlier attempt is returned."""
    metered = _Metered(llm)
    attempts: list[AttemptRecord] = []
    best: tuple[tuple[bool, float], AgentOutput, list[Check], Verdict | None] | None = None
    current = brief
    last_error: Exception | None = None
    for number in range(1, max_attempts + 1):
        before = metered.spent
        folder = workdir / f"attempt-{number}"
        folder.mkdir(parents=True, exist_ok=True)
        output: AgentOutput | None = None
        checks: list[Check] = []
        verdict: Verdict | None = None
        error: str | None = None
        try:
            output = await agent.run(current, metered, folder)
            checks = await asyncio.to_thread(agent.check, current, output, folder)
            verdict = await judge(
                current, output, metered, spec=agent.spec, samples=samples, checks=checks
            )
        except (AgentFailed, StepCapReached, JudgeFailed) as exc:
            last_error = exc
            error = str(exc)
        except GigforgeError as exc:
            # The road to the models refused (budget spent, no model left): earlier attempts
            # are kept and delivered below the threshold; with none, the caller sees why.
            if best is None:
                raise
            attempts.append(
                AttemptRecord(
                    number=number,
                    checks=[],
                    verdict=None,
                    cost_micro_usd=metered.spent - before,
                    feedback=current.feedback,
                    error=exc.detail,
                )
            )
            break
        cost = metered.spent - before
        attempts.append(
            AttemptRecord(
                number=number,
                checks=checks,
                verdict=verdict,
                cost_micro_usd=cost,
                feedback=current.feedback,
                error=error,
            )
        )
        if output is not None:
            rank = (not failed(checks), verdict.score if verdict else -1.0)
            if best is None or rank > best[0]:
                best = (rank, output, checks, verdict)
        if _passed(checks, verdict, threshold):
            break
        if metered.spent + cost > budget_cap_micro_usd:
            logger.info("quality gate stops at its budget cap", attempts=number)
            break
        feedback = retry_feedback(checks, verdict, threshold, brief.feedback)
        if error is not None:
            feedback = "\n\n".join(filter(None, [feedback, f"The last attempt failed: {error}"]))
        current = brief.with_feedback(feedback)
    if best is None:
        assert last_error is not None
        raise last_error
    _, output, checks, verdict = best
    return GateResult(
        output=output,
        checks=checks,
        verdict=verdict,
        attempts=attempts,
        below_threshold=not _passed(checks, verdict, threshold),
        cost_micro_usd=metered.spent,
    )
