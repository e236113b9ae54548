"""The failures a certifications endpoint can answer with."""

from __future__ import annotations

from gigforge.kit.errors import Conflict, Forbidden, NotFound, ValidationFailed


class UnknownLevel(NotFound):
    code = "unknown-certification-level"
    title = "There is no such certification level"


class UnknownModule(NotFound):
    code = "unknown-course-module"
    title = "The course has no such module"


class CertificationRequired(Forbidden):
    """A gate: the action needs a certification level the user does not hold (or let lapse)."""

    code = "certification-required"
    title = "A certification level is required"


class AlreadyCertified(Conflict):
    code = "already-certified"
    title = "You already hold this certification"


class ExamCoolingDown(Conflict):
    code = "exam-cooling-down"
    title = "The cool-down after the last attempt has not ended"


class NoExamInProgress(Conflict):
    code = "no-exam-in-progress"
    title = "There is no exam in progress for this level"


class RenewalNotOpen(Conflict):
    code = "renewal-not-open"
    title = "This certification can not be renewed now"


class InvalidAnswers(ValidationFailed):
    code = "invalid-exam-answers"
    title = "The answers do not match the exam's questions"
