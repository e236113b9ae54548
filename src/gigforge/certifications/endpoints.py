"""Routes: /users/me/certifications, /certifications/courses, /certifications/exams and /renew
(seed 002). Start, submit and renew answer with the attempt or its result; no answer ever
carries a right answer before its attempt is graded."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, status

from gigforge.accounts.auth import RequireScope
from gigforge.accounts.errors import InsufficientScope, InvalidToken
from gigforge.accounts.principal import Principal
from gigforge.accounts.scopes import Scope
from gigforge.certifications.errors import (
    AlreadyCertified,
    CertificationRequired,
    ExamCoolingDown,
    InvalidAnswers,
    NoExamInProgress,
    RenewalNotOpen,
    UnknownLevel,
    UnknownModule,
)
from gigforge.certifications.schemas import (
    CourseRead,
    ExamAttemptRead,
    ExamResultRead,
    ExamResults,
    ExamSubmit,
    ModuleContent,
    MyCertifications,
    RenewRequest,
)
from gigforge.certifications.service import certifications as certification_service
from gigforge.kit.deps import SessionDep
from gigforge.kit.errors import Unauthorized
from gigforge.kit.problems import problem_responses

router = APIRouter(tags=["certifications"])
_AUTHENTICATED = (Unauthorized, InvalidToken, InsufficientScope)
Reader = Annotated[Principal, RequireScope(Scope.certifications_read)]
Taker = Annotated[Principal, RequireScope(Scope.certifications_write)]
_STARTING = (UnknownLevel, CertificationRequired, AlreadyCertified, ExamCoolingDown)


@router.get(
    "/users/me/certifications",
    response_model=MyCertifications,
    responses=problem_responses(*_AUTHENTICATED),
)
async def my_certifications(session: SessionDep, principal: Reader) -> MyCertifications:
    """Every level with its status, expiry, renewal window and whether an exam can start."""
    return await certification_service.mine(session, principal)


@router.get(
    "/certifications/courses/{level}",
    response_model=CourseRead,
    responses=problem_responses(*_AUTHENTICATED, UnknownLevel),
)
async def read_course(level: int, principal: Reader) -> CourseRead:
    """The level's course: its modules with their reading time and reader page."""
    return certification_service.course(level)


@router.get(
    "/certifications/courses/{level}/modules/{module_id}",
    response_model=ModuleContent,
    responses=problem_responses(*_AUTHENTICATED, UnknownLevel, UnknownModule),
)
async def read_module(level: int, module_id: str, principal: Reader) -> ModuleContent:
    """One module's text, as Markdown."""
    return certification_service.module(level, module_id)


@router.post(
    "/certifications/exams/{level}/start",
    response_model=ExamAttemptRead,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(*_AUTHENTICATED, *_STARTING),
)
async def start_exam(level: int, session: SessionDep, principal: Taker) -> ExamAttemptRead:
    """Draw this attempt's questions, or give back the attempt already open at this level.
    Level N needs level N-1 held; a failed or expired attempt starts a cool-down."""
    return await certification_service.start(session, principal, level=level)


@router.post(
    "/certifications/exams/{level}/submit",
    response_model=ExamResultRead,
    responses=problem_responses(*_AUTHENTICATED, UnknownLevel, NoExamInProgress, InvalidAnswers),
)
async def submit_exam(
    level: int, body: ExamSubmit, session: SessionDep, principal: Taker
) -> ExamResultRead:
    """Grade the open attempt on the server. Sent after the time limit, it is `expired` and
    scores nothing."""
    return await certification_service.submit(
        session,
        principal,
        level=level,
        attempt_id=body.attempt_id,
        answers=[(answer.question_id, answer.option_id) for answer in body.answers],
    )


@router.get(
    "/certifications/exams/{level}/results",
    response_model=ExamResults,
    responses=problem_responses(*_AUTHENTICATED, UnknownLevel),
)
async def exam_results(level: int, session: SessionDep, principal: Reader) -> ExamResults:
    """Your finished attempts at this level, newest first."""
    return await certification_service.results(session, principal, level=level)


@router.post(
    "/certifications/renew",
    response_model=ExamAttemptRead,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(*_AUTHENTICATED, *_STARTING, RenewalNotOpen),
)
async def renew(body: RenewRequest, session: SessionDep, principal: Taker) -> ExamAttemptRead:
    """Start the shorter renewal exam; submit it at /certifications/exams/{level}/submit."""
    return await certification_service.renew(session, principal, level=body.level)
