"""Request and response bodies of /jobs and /agents (seed 002's paths and field names)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from gigforge.jobs.states import JobStatus, TaskStatus
from gigforge.kit.money import MajorAmount
from gigforge.kit.schemas import InputSchema, OutputSchema

Feedback = Annotated[str, StringConstraints(min_length=1, max_length=5_000)]


class JobAccept(InputSchema):
    autonomous: bool = Field(
        default=False,
        description="Deliver without asking when every task passes the quality gate "
        "(needs certification level 2)",
    )
    quality_threshold: Annotated[float, Field(ge=0, le=5)] | None = Field(
        default=None, description="The least judge score (0-5) a task must reach; 4.0 if unset"
    )


class RevisionRequest(InputSchema):
    feedback: Feedback


class AgentRef(OutputSchema):
    agent_id: str
    name: str


class DeliverableRead(OutputSchema):
    id: uuid.UUID
    task_id: uuid.UUID
    name: str
    media_type: str
    size: int
    sha256: str
    version: int
    revision: int
    quality_score: float | None
    feedback: str | None = Field(description="The feedback this version answered")
    preview: str
    created_at: datetime
    download_url: str | None = Field(description="A signed link that expires")


class CheckRead(OutputSchema):
    name: str
    passed: bool
    detail: str = ""


class TaskRead(OutputSchema):
    id: uuid.UUID
    job_id: uuid.UUID
    agent: AgentRef
    kind: str
    description: str
    requirements: dict[str, Any]
    status: TaskStatus
    version: int
    feedback: str | None
    quality_score: float | None
    disagreement: float | None
    judge_reasons: str | None
    below_threshold: bool
    attempts: int
    cost_usd: float
    error: str | None
    checks: list[CheckRead]
    report: dict[str, Any]
    output: list[DeliverableRead] = Field(description="The files of the task's current version")
    started_at: datetime | None
    finished_at: datetime | None


class RevisionRead(OutputSchema):
    number: int
    feedback: str | None
    requested_by: str
    created_at: datetime


class DeliveryRead(OutputSchema):
    revision: int
    channel: str
    status: str
    message: str
    reference: str
    external_id: str | None
    error: str | None
    sent_at: datetime | None
    package_url: str | None = Field(description="The zip of the files and the message")


class JobRead(OutputSchema):
    id: uuid.UUID
    title: str
    description: str
    platform: str
    source: str
    url: str | None
    client_name: str | None
    budget: MajorAmount | None
    currency: str | None
    deadline: datetime | None
    status: JobStatus
    progress: float
    quality_threshold: float
    autonomous: bool
    revision: int
    proposal_id: uuid.UUID | None
    approved: bool
    note: str | None = Field(description="Why the job waits where it is, when it is stuck")
    accepted_at: datetime | None
    delivered_at: datetime | None
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class JobDetail(JobRead):
    tasks: list[TaskRead]
    revisions: list[RevisionRead]
    deliveries: list[DeliveryRead]


class JobList(OutputSchema):
    jobs: list[JobRead]
    total: int
    limit: int
    offset: int


class TaskList(OutputSchema):
    tasks: list[TaskRead]


class DeliverableList(OutputSchema):
    deliverables: list[DeliverableRead]


class AgentRead(OutputSchema):
    agent_id: str
    name: str
    capabilities: list[str]
    average_quality_score: float | None
    available: bool
    reason: str | None = Field(default=None, description="Why the agent is not available")
    running: int
    max_concurrency: int


class AgentList(OutputSchema):
    agents: list[AgentRead]


class TaskAssign(InputSchema):
    job_id: uuid.UUID
    agent_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    task_description: Annotated[str, StringConstraints(min_length=1, max_length=4_000)]
    requirements: dict[str, Any] = Field(default_factory=dict)
    kind: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        default=None, description="One of the agent's capabilities; its first if unset"
    )


class TaskStatusRead(OutputSchema):
    task_id: uuid.UUID
    job_id: uuid.UUID
    agent_id: str
    status: TaskStatus
    quality_score: float | None
    below_threshold: bool
    attempts: int
    version: int
    error: str | None
    updated_at: datetime


class RetryRequest(InputSchema):
    feedback: Feedback | None = None


class MarkWon(InputSchema):
    autonomous: bool = False


MessageText = Annotated[str, StringConstraints(min_length=1, max_length=5_000)]


class MessageCreate(InputSchema):
    text: MessageText = Field(description="The reply; it is sent only after you approve it")


class MessageRead(OutputSchema):
    id: uuid.UUID
    job_id: uuid.UUID
    direction: str = Field(description="`in` from the client, `out` ours")
    status: str = Field(description="received, draft, approved, sending, sent or failed")
    text: str
    external_thread_id: str | None
    external_id: str | None
    error: str | None = Field(description="Why sending failed, or where to paste a hand-off")
    hand_off: bool = Field(description="The platform takes no messages from Gigforge: paste it")
    sent_at: datetime | None
    created_at: datetime


class MessageList(OutputSchema):
    messages: list[MessageRead] = Field(description="Oldest first")
    connected: bool = Field(
        description="A connection reads this job's messages; without one they are on the "
        "platform only"
    )
    note: str | None = Field(description="Where the conversation is when it is not read here")
