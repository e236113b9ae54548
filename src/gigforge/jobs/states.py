"""The job and task state machines: which transitions exist, and nothing else.

A job moves PENDING -> ACTIVE -> IN_PROGRESS -> REVIEW -> DELIVERED -> COMPLETED, and may be
CANCELLED before it is delivered. A revision sends a job in review (or delivered) back to
IN_PROGRESS. Approval is not a state: it is recorded on a job in REVIEW (`approved_at`), and
delivery needs it. Every change goes through `JobService.transition`, which checks this table,
audits the change and publishes `job.status_changed`.
"""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    pending = "pending"
    active = "active"
    in_progress = "in_progress"
    review = "review"
    delivered = "delivered"
    completed = "completed"
    cancelled = "cancelled"


class TaskStatus(StrEnum):
    queued = "queued"
    running = "running"
    done = "done"  # passed its checks and the judges at the job's threshold
    below_threshold = "below_threshold"  # out of attempts or budget: shown to the user, marked
    failed = "failed"  # the agent could not produce anything (no model, a refusal, an error)
    cancelled = "cancelled"


JOB_TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.pending: frozenset({JobStatus.active, JobStatus.cancelled}),
    JobStatus.active: frozenset({JobStatus.in_progress, JobStatus.review, JobStatus.cancelled}),
    JobStatus.in_progress: frozenset({JobStatus.review, JobStatus.cancelled}),
    JobStatus.review: frozenset({JobStatus.in_progress, JobStatus.delivered, JobStatus.cancelled}),
    JobStatus.delivered: frozenset({JobStatus.in_progress, JobStatus.completed}),
    JobStatus.completed: frozenset(),
    JobStatus.cancelled: frozenset(),
}

#: A task in one of these states has finished its round; the job goes to review when all have.
FINISHED = frozenset({TaskStatus.done, TaskStatus.below_threshold, TaskStatus.failed})
#: A task the user may send back to its agent.
RETRYABLE = frozenset({TaskStatus.below_threshold, TaskStatus.failed, TaskStatus.done})
#: Jobs whose tasks may still be assigned or run.
WORKING = frozenset({JobStatus.active, JobStatus.in_progress, JobStatus.review})


def allowed(current: JobStatus, target: JobStatus) -> bool:
    return target in JOB_TRANSITIONS[current]
