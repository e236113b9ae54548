"""The agents' expected failures, in the shared error tree so callers render them as
problem+json without translating."""

from __future__ import annotations

from gigforge.kit.errors import Conflict, GigforgeError, NotFound, ServiceUnavailable


class UnknownAgent(NotFound):
    code = "unknown-agent"
    title = "No such agent"


class UnsupportedKind(NotFound):
    code = "unsupported-task-kind"
    title = "No agent does this kind of task"


class StepCapReached(Conflict):
    code = "agent-step-cap-reached"
    title = "The agent reached its step cap"


class AgentFailed(GigforgeError):
    """The model's answer could not be turned into a deliverable (no code block, no CSV)."""

    status_code = 422
    code = "agent-failed"
    title = "The agent could not produce a deliverable"


class SandboxUnavailable(ServiceUnavailable):
    code = "code-sandbox-unavailable"
    title = "Code cannot be run safely on this machine"


class JudgeFailed(GigforgeError):
    """Too few judge samples could be read within the step cap: no verdict rather than a guess."""

    status_code = 502
    code = "judge-failed"
    title = "The judge panel gave no usable verdict"
