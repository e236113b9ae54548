"""Request and response bodies of the certifications API (paths and course fields from seed 002).

No response model here has a field for a right answer: an attempt's questions carry only their
prompt and options, and a result says which answers were right, never which option was.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints

from gigforge.certifications.models import AttemptStatus
from gigforge.certifications.rules import AttemptKind
from gigforge.kit.schemas import InputSchema, OutputSchema

ShortId = Annotated[str, StringConstraints(min_length=1, max_length=20)]
Level = Annotated[int, Field(ge=1, le=99)]


class ModuleRead(OutputSchema):
    module_id: str = Field(examples=["2.1"])
    title: str
    duration_hours: float
    content_url: str = Field(
        description="The dashboard page that shows the module", examples=["/courses/level2/module1"]
    )
    summary: str = ""


class ModuleContent(ModuleRead):
    level: int
    markdown: str = Field(description="The module's text, in CommonMark")


class ExamFacts(OutputSchema):
    questions: int
    time_limit_minutes: int
    pass_mark_percent: int
    renewal_questions: int
    renewal_time_limit_minutes: int


class CourseRead(OutputSchema):
    level: int
    title: str
    summary: str
    requires_level: int = Field(description="The level that must be held (unexpired) first")
    modules: list[ModuleRead]
    exam: ExamFacts


class CertificationStatus(StrEnum):
    active = "active"
    expired = "expired"
    not_earned = "not_earned"


class CertificationRead(OutputSchema):
    level: int
    title: str
    status: CertificationStatus
    earned_at: datetime | None = None
    expires_at: datetime | None = None
    renewed_at: datetime | None = None
    renewal_opens_at: datetime | None = None
    renewal_closes_at: datetime | None = None
    can_start_exam: bool
    can_renew: bool
    next_attempt_at: datetime | None = Field(
        default=None, description="When the cool-down after the last attempt ends"
    )


class MyCertifications(OutputSchema):
    certification_level: int = Field(description="The highest level held and not expired")
    certifications: list[CertificationRead]


class ExamOption(OutputSchema):
    option_id: str
    text: str


class ExamQuestion(OutputSchema):
    question_id: str
    module_id: str
    prompt: str
    options: list[ExamOption]


class ExamAttemptRead(OutputSchema):
    attempt_id: uuid.UUID
    level: int
    kind: AttemptKind
    started_at: datetime
    deadline_at: datetime
    seconds_left: int
    pass_mark_percent: int
    questions: list[ExamQuestion]


class ExamAnswer(InputSchema):
    question_id: ShortId
    option_id: ShortId


class ExamSubmit(InputSchema):
    attempt_id: uuid.UUID
    answers: list[ExamAnswer] = Field(max_length=100)


class RenewRequest(InputSchema):
    level: Level


class QuestionOutcome(OutputSchema):
    question_id: str
    module_id: str
    answered: bool
    correct: bool


class ExamResultRead(OutputSchema):
    attempt_id: uuid.UUID
    level: int
    kind: AttemptKind
    status: AttemptStatus
    passed: bool
    correct: int
    total: int
    score_percent: int
    pass_mark_percent: int
    started_at: datetime
    submitted_at: datetime | None
    certification_expires_at: datetime | None = None
    next_attempt_at: datetime | None = None
    review_modules: list[str] = Field(
        default_factory=list, description="Modules of the questions answered wrongly"
    )
    questions: list[QuestionOutcome] = Field(default_factory=list)


class ExamResults(OutputSchema):
    level: int
    in_progress: bool = Field(description="An attempt is open (start resumes it)")
    results: list[ExamResultRead]
