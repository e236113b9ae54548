"""AI agents that turn a task brief into deliverables, and the quality gate they pass.

A library with no database of its own: the jobs domain hands it a `TaskBrief`, an `LLMCall`
over the model router and a work folder, and stores what comes back. See docs/agents.md.
"""

from gigforge.agents.errors import (
    AgentFailed,
    JudgeFailed,
    SandboxUnavailable,
    StepCapReached,
    UnknownAgent,
    UnsupportedKind,
)
from gigforge.agents.quality import (
    AttemptRecord,
    GateResult,
    JudgeSample,
    Verdict,
    judge,
    run_with_gate,
)
from gigforge.agents.registry import ENTRY_POINT_GROUP, AgentRegistry
from gigforge.agents.spec import (
    Agent,
    AgentOutput,
    AgentSpec,
    Answer,
    Check,
    InputFile,
    LLMCall,
    ProducedFile,
    Step,
    StepRecord,
    TaskBrief,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "Agent",
    "AgentFailed",
    "AgentOutput",
    "AgentRegistry",
    "AgentSpec",
    "Answer",
    "AttemptRecord",
    "Check",
    "GateResult",
    "InputFile",
    "JudgeFailed",
    "JudgeSample",
    "LLMCall",
    "ProducedFile",
    "SandboxUnavailable",
    "Step",
    "StepCapReached",
    "StepRecord",
    "TaskBrief",
    "UnknownAgent",
    "UnsupportedKind",
    "Verdict",
    "judge",
    "run_with_gate",
]
