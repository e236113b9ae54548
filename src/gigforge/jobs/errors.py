"""The jobs domain's errors: each is a problem+json answer."""

from __future__ import annotations

from gigforge.kit.errors import Conflict, NotFound, ServiceUnavailable, ValidationFailed


class JobNotFound(NotFound):
    code = "job-not-found"
    title = "No such job"


class TaskNotFound(NotFound):
    code = "task-not-found"
    title = "No such task"


class InvalidJobTransition(Conflict):
    code = "invalid-job-state"
    title = "The job cannot do that in its current state"


class InvalidTaskState(Conflict):
    code = "invalid-task-state"
    title = "The task cannot do that in its current state"


class UnknownAgent(ValidationFailed):
    code = "unknown-agent"
    title = "No such agent"


class AgentBusy(Conflict):
    code = "agent-busy"
    title = "The agent is at its limit of tasks running at once"


class NotWon(Conflict):
    code = "proposal-not-won"
    title = "Only a submitted or handed-off proposal can be marked won"


class DeliveryUnavailable(ServiceUnavailable):
    code = "delivery-unavailable"
    title = "The platform could not take the delivery now"


class MessageNotFound(NotFound):
    code = "job-message-not-found"
    title = "No such message on this job"


class InvalidMessageState(Conflict):
    code = "invalid-message-state"
    title = "The message cannot do that in its current state"
