"""The events the jobs domain publishes (see `kit.outbox`). GraphQL's `jobProgress` and
`taskUpdate` subscriptions and the dashboard's live job page are fed by these."""

from __future__ import annotations

import uuid

from gigforge.kit.outbox import EventPayload, event_type

_JOB = "01939a2e-5f62-7045-8c76-33b5ea260ff4"
_TASK = "01939a2f-0c11-7d2a-8e40-5a1b2c3d4e5f"
_MESSAGE = "01939a30-2b7e-7c51-9a63-0d4e5f6a7b8c"


@event_type(
    "job.created",
    summary="Won work became a job (a platform award, a proposal marked won, or an alert email)",
    example={"job_id": _JOB, "platform": "freelancer", "source": "award", "title": "Blog posts"},
)
class JobCreated(EventPayload):
    job_id: uuid.UUID
    platform: str
    source: str
    title: str


@event_type(
    "job.status_changed",
    summary="A job moved from one state to another; `progress` is its tasks' share done (0-1)",
    example={"job_id": _JOB, "previous": "in_progress", "status": "review", "progress": 1.0},
)
class JobStatusChanged(EventPayload):
    job_id: uuid.UUID
    previous: str
    status: str
    progress: float


@event_type(
    "job.approved",
    summary="The user approved a job's work in review; it may now be delivered",
    example={"job_id": _JOB, "revision": 0},
)
class JobApproved(EventPayload):
    job_id: uuid.UUID
    revision: int


@event_type(
    "job.revision_requested",
    summary="The user sent a job back to its agents with feedback; a new round begins",
    example={"job_id": _JOB, "revision": 1, "feedback": "Shorter introduction, please."},
)
class JobRevisionRequested(EventPayload):
    job_id: uuid.UUID
    revision: int
    feedback: str


@event_type(
    "job.delivered",
    summary="A job's approved work reached the client (a platform message) or was handed off",
    example={"job_id": _JOB, "revision": 0, "channel": "freelancer_message"},
)
class JobDelivered(EventPayload):
    job_id: uuid.UUID
    revision: int
    channel: str


@event_type(
    "job.task_updated",
    summary="An agent task was queued, started or finished; carries its score when it has one",
    example={
        "job_id": _JOB,
        "task_id": _TASK,
        "agent": "writing",
        "status": "done",
        "quality_score": 4.4,
        "progress": 0.5,
    },
)
class JobTaskUpdated(EventPayload):
    job_id: uuid.UUID
    task_id: uuid.UUID
    agent: str
    status: str
    quality_score: float | None
    progress: float


@event_type(
    "job.message_received",
    summary="A client's message on a job was read from the platform",
    example={"job_id": _JOB, "message_id": _MESSAGE, "platform": "freelancer"},
)
class JobMessageReceived(EventPayload):
    job_id: uuid.UUID
    message_id: uuid.UUID
    platform: str


@event_type(
    "job.message_sent",
    summary="A reply the user approved was sent to the client (`sent`), or the platform takes "
    "none from Gigforge and the user is asked to paste it (`handed_off`)",
    example={"job_id": _JOB, "message_id": _MESSAGE, "status": "sent"},
)
class JobMessageSent(EventPayload):
    job_id: uuid.UUID
    message_id: uuid.UUID
    status: str
