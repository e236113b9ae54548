"""Certification rules: courses, exams graded on the server, levels that expire, and gates.

An attempt's draw (which questions, each one's options in which order) is written to the
attempt's row when it starts; the client only ever gets prompts and options with per-attempt
option ids, and sends back ids. Grading, the time limit and the cool-down are decided here,
against `kit.clock`, never by the client.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.accounts.principal import Principal
from gigforge.accounts.profile import Fact, profile_facts
from gigforge.certifications import catalog, rules
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
from gigforge.certifications.events import CertificationExpired, CertificationPassed
from gigforge.certifications.models import AttemptStatus, Certification, ExamAttempt
from gigforge.certifications.repository import AttemptRepository, CertificationRepository
from gigforge.certifications.rules import AttemptKind, ExamRules
from gigforge.certifications.schemas import (
    CertificationRead,
    CertificationStatus,
    CourseRead,
    ExamAttemptRead,
    ExamFacts,
    ExamOption,
    ExamQuestion,
    ExamResultRead,
    ExamResults,
    ModuleContent,
    ModuleRead,
    MyCertifications,
    QuestionOutcome,
)
from gigforge.kit.clock import utcnow
from gigforge.kit.outbox import publish

OPTION_IDS = "abcdefgh"
RESULTS_SHOWN = 20
SWEEP_BATCH = 500
_random = secrets.SystemRandom()


def _course(level: int) -> catalog.Course:
    found = catalog.course(level)
    if found is None:
        raise UnknownLevel(
            f"There is no level {level}; the levels are {', '.join(map(str, catalog.levels()))}.",
            level=level,
        )
    return found


def _module_read(module: catalog.Module) -> ModuleRead:
    return ModuleRead(
        module_id=module.module_id,
        title=module.title,
        duration_hours=module.duration_hours,
        content_url=module.content_url,
        summary=module.summary,
    )


def _minutes(span: timedelta) -> int:
    return int(span.total_seconds() // 60)


def draw(course: catalog.Course, count: int) -> list[dict[str, object]]:
    """`count` questions spread over the course's modules, in random order, each with its
    options shuffled; drawn with the system's CSPRNG so no draw can be predicted."""
    pools: dict[str, list[catalog.Question]] = {}
    for question in course.questions:
        pools.setdefault(question.module_id, []).append(question)
    for pool in pools.values():
        _random.shuffle(pool)
    modules = list(pools)
    _random.shuffle(modules)
    chosen: list[catalog.Question] = []
    while len(chosen) < count and any(pools.values()):
        for module_id in modules:
            if pools[module_id] and len(chosen) < count:
                chosen.append(pools[module_id].pop())
    _random.shuffle(chosen)
    drawn: list[dict[str, object]] = []
    for question in chosen:
        order = list(range(len(question.options)))
        _random.shuffle(order)
        drawn.append({"question_id": question.question_id, "options": order})
    return drawn


def _active(certification: Certification | None, now: datetime) -> bool:
    return certification is not None and certification.expires_at > now


def _finished_at(attempt: ExamAttempt) -> datetime:
    return attempt.submitted_at or attempt.deadline_at


def _cool_down_ends(attempt: ExamAttempt | None) -> datetime | None:
    if attempt is None or attempt.status in (AttemptStatus.passed, AttemptStatus.in_progress):
        return None
    return _finished_at(attempt) + rules.COOL_DOWN


def _past_deadline(attempt: ExamAttempt, now: datetime) -> bool:
    return now > attempt.deadline_at + rules.SUBMIT_GRACE


def _close(attempt: ExamAttempt, status: AttemptStatus, now: datetime | None) -> None:
    attempt.status = status
    attempt.open_slot = None
    attempt.submitted_at = now


def _renewal_window(certification: Certification) -> tuple[datetime, datetime]:
    return (
        certification.expires_at - rules.RENEWAL_OPENS,
        certification.expires_at + rules.RENEWAL_GRACE,
    )


@dataclass(frozen=True)
class _Standing:
    """Everything the rules need about one user and one level, read once."""

    level: int
    certification: Certification | None
    prerequisite_held: bool
    open_attempt: ExamAttempt | None
    last_finished: ExamAttempt | None

    def cool_down_ends(self) -> datetime | None:
        # An open attempt past its time counts as finished at its deadline.
        ends = [
            _cool_down_ends(self.last_finished),
            self.open_attempt.deadline_at + rules.COOL_DOWN
            if self.open_attempt is not None and _past_deadline(self.open_attempt, utcnow())
            else None,
        ]
        return max((end for end in ends if end is not None), default=None)


def _user_id(user: Principal | uuid.UUID) -> uuid.UUID:
    return user.user_id if isinstance(user, Principal) else user


def _presented(course: catalog.Course, attempt: ExamAttempt, now: datetime) -> ExamAttemptRead:
    questions = []
    for item in attempt.questions:
        question = course.question(str(item["question_id"]))
        if question is None:
            raise catalog.CatalogError(f"attempt {attempt.id} holds an unknown question")
        order: list[int] = list(item["options"])
        questions.append(
            ExamQuestion(
                question_id=question.question_id,
                module_id=question.module_id,
                prompt=question.prompt,
                options=[
                    ExamOption(option_id=OPTION_IDS[position], text=question.options[index])
                    for position, index in enumerate(order)
                ],
            )
        )
    return ExamAttemptRead(
        attempt_id=attempt.id,
        level=attempt.level,
        kind=attempt.kind,
        started_at=attempt.started_at,
        deadline_at=attempt.deadline_at,
        seconds_left=max(0, int((attempt.deadline_at - now).total_seconds())),
        pass_mark_percent=attempt.pass_mark_percent,
        questions=questions,
    )


def _result(
    attempt: ExamAttempt, certification: Certification | None, *, with_questions: bool = True
) -> ExamResultRead:
    outcomes = [
        QuestionOutcome(
            question_id=str(item["question_id"]),
            module_id=str(item["module_id"]),
            answered=item["chosen"] is not None,
            correct=bool(item["correct"]),
        )
        for item in attempt.outcomes or []
    ]
    passed = attempt.status is AttemptStatus.passed
    return ExamResultRead(
        attempt_id=attempt.id,
        level=attempt.level,
        kind=attempt.kind,
        status=attempt.status,
        passed=passed,
        correct=attempt.correct,
        total=attempt.total,
        score_percent=rules.score_percent(attempt.correct, attempt.total),
        pass_mark_percent=attempt.pass_mark_percent,
        started_at=attempt.started_at,
        submitted_at=attempt.submitted_at,
        certification_expires_at=certification.expires_at if passed and certification else None,
        next_attempt_at=_cool_down_ends(attempt),
        review_modules=sorted({o.module_id for o in outcomes if not o.correct}),
        questions=outcomes if with_questions else [],
    )


class CertificationService:
    # Courses (no database: the content ships with the package)

    def course(self, level: int) -> CourseRead:
        course = _course(level)
        return CourseRead(
            level=course.level,
            title=course.title,
            summary=course.summary,
            requires_level=level - 1,
            modules=[_module_read(module) for module in course.modules],
            exam=ExamFacts(
                questions=rules.FULL_EXAM.questions,
                time_limit_minutes=_minutes(rules.FULL_EXAM.time_limit),
                pass_mark_percent=rules.PASS_MARK_PERCENT,
                renewal_questions=rules.RENEWAL_EXAM.questions,
                renewal_time_limit_minutes=_minutes(rules.RENEWAL_EXAM.time_limit),
            ),
        )

    def courses(self) -> list[CourseRead]:
        return [self.course(level) for level in catalog.levels()]

    def module(self, level: int, module_id: str) -> ModuleContent:
        module = _course(level).module(module_id)
        if module is None:
            raise UnknownModule(f"Level {level} has no module {module_id}.")
        return ModuleContent(
            **_module_read(module).model_dump(), level=level, markdown=module.markdown()
        )

    def module_by_number(self, level: int, number: int) -> ModuleContent:
        module = _course(level).module_number(number)
        if module is None:
            raise UnknownModule(f"Level {level} has no module {number}.")
        return self.module(level, module.module_id)

    # Levels and gates

    async def level_of(self, session: AsyncSession, user_id: uuid.UUID) -> int:
        """The highest level the user holds and has not let expire (0 for none)."""
        return await CertificationRepository(session).highest_active_level(user_id, utcnow())

    async def require_level(
        self, session: AsyncSession, user: Principal | uuid.UUID, level: int, *, action: str
    ) -> None:
        """Raise CertificationRequired (403) unless the user holds `level` or higher."""
        held = await self.level_of(session, _user_id(user))
        if held < level:
            raise CertificationRequired(
                f"To {action} you need certification level {level}; you hold "
                + (f"level {held}." if held else "none.")
                + f" Read the course and pass the level {level} exam under Certifications.",
                required_level=level,
                certification_level=held,
            )

    # Reading

    async def _standing(self, session: AsyncSession, user_id: uuid.UUID, level: int) -> _Standing:
        certifications = CertificationRepository(session)
        attempts = AttemptRepository(session)
        now = utcnow()
        prerequisite = await certifications.one(user_id, level - 1) if level > 1 else None
        return _Standing(
            level=level,
            certification=await certifications.one(user_id, level),
            prerequisite_held=level == 1 or _active(prerequisite, now),
            open_attempt=await attempts.open_attempt(user_id, level),
            last_finished=await attempts.last_finished(user_id, level),
        )

    async def mine(self, session: AsyncSession, principal: Principal) -> MyCertifications:
        now = utcnow()
        listed = []
        for level in catalog.levels():
            standing = await self._standing(session, principal.user_id, level)
            held = standing.certification
            cooling = standing.cool_down_ends()
            cooling = cooling if cooling is not None and cooling > now else None
            window = _renewal_window(held) if held is not None else None
            status = (
                CertificationStatus.not_earned
                if held is None
                else CertificationStatus.active
                if _active(held, now)
                else CertificationStatus.expired
            )
            open_to_try = standing.prerequisite_held and cooling is None
            listed.append(
                CertificationRead(
                    level=level,
                    title=_course(level).title,
                    status=status,
                    earned_at=held.earned_at if held else None,
                    expires_at=held.expires_at if held else None,
                    renewed_at=held.renewed_at if held else None,
                    renewal_opens_at=window[0] if window else None,
                    renewal_closes_at=window[1] if window else None,
                    can_start_exam=open_to_try and not _active(held, now),
                    can_renew=open_to_try and window is not None and window[0] <= now <= window[1],
                    next_attempt_at=cooling,
                )
            )
        return MyCertifications(
            certification_level=await self.level_of(session, principal.user_id),
            certifications=listed,
        )

    async def current(
        self, session: AsyncSession, principal: Principal, *, level: int
    ) -> ExamAttemptRead | None:
        """The open attempt at `level` while its time lasts (what the exam page shows)."""
        course = _course(level)
        attempt = await AttemptRepository(session).open_attempt(principal.user_id, level)
        now = utcnow()
        if attempt is None or _past_deadline(attempt, now):
            return None
        return _presented(course, attempt, now)

    async def results(
        self, session: AsyncSession, principal: Principal, *, level: int
    ) -> ExamResults:
        _course(level)
        attempts = AttemptRepository(session)
        certification = await CertificationRepository(session).one(principal.user_id, level)
        finished = await attempts.finished(principal.user_id, level, RESULTS_SHOWN)
        open_attempt = await attempts.open_attempt(principal.user_id, level)
        return ExamResults(
            level=level,
            in_progress=open_attempt is not None and not _past_deadline(open_attempt, utcnow()),
            results=[_result(attempt, certification) for attempt in finished],
        )

    # Exams

    async def start(
        self, session: AsyncSession, principal: Principal, *, level: int
    ) -> ExamAttemptRead:
        """Start the full exam at `level`, or resume the attempt already open there."""
        return await self._open(session, principal, level=level, exam=rules.FULL_EXAM)

    async def renew(
        self, session: AsyncSession, principal: Principal, *, level: int
    ) -> ExamAttemptRead:
        """Start the shorter renewal exam of a certification in its renewal window."""
        return await self._open(session, principal, level=level, exam=rules.RENEWAL_EXAM)

    async def _open(
        self, session: AsyncSession, principal: Principal, *, level: int, exam: ExamRules
    ) -> ExamAttemptRead:
        course = _course(level)
        now = utcnow()
        standing = await self._standing(session, principal.user_id, level)
        if standing.open_attempt is not None:
            if not _past_deadline(standing.open_attempt, now):
                return _presented(course, standing.open_attempt, now)
            _close(standing.open_attempt, AttemptStatus.expired, None)
            await session.flush()
        if not standing.prerequisite_held:
            raise CertificationRequired(
                f"Level {level} needs level {level - 1} held and not expired first.",
                required_level=level - 1,
            )
        self._check_kind(standing, exam, now)
        cooling = standing.cool_down_ends()
        if cooling is not None and cooling > now:
            raise ExamCoolingDown(
                f"The next attempt at level {level} opens at {cooling:%Y-%m-%d %H:%M} UTC, "
                f"{_minutes(rules.COOL_DOWN) // 60} hours after the last one ended. "
                "Use the time to review the modules the result pointed to.",
                next_attempt_at=cooling.isoformat(),
            )
        drawn = draw(course, exam.questions)
        attempt = ExamAttempt(
            user_id=principal.user_id,
            level=level,
            kind=exam.kind,
            status=AttemptStatus.in_progress,
            open_slot=f"{principal.user_id}:{level}",
            started_at=now,
            deadline_at=now + exam.time_limit,
            pass_mark_percent=exam.pass_mark_percent,
            questions=drawn,
            total=len(drawn),
            correct=0,
        )
        await AttemptRepository(session).create(attempt)
        return _presented(course, attempt, now)

    @staticmethod
    def _check_kind(standing: _Standing, exam: ExamRules, now: datetime) -> None:
        held = standing.certification
        level = standing.level
        if exam.kind is AttemptKind.exam:
            if _active(held, now):
                assert held is not None
                opens, _ = _renewal_window(held)
                raise AlreadyCertified(
                    f"You hold level {level} until {held.expires_at:%Y-%m-%d}; renew it from "
                    f"{opens:%Y-%m-%d} with the shorter renewal exam.",
                    expires_at=held.expires_at.isoformat(),
                )
            return
        if held is None:
            raise RenewalNotOpen(
                f"You do not hold level {level} yet; take the level {level} exam instead."
            )
        opens, closes = _renewal_window(held)
        if now < opens:
            raise RenewalNotOpen(
                f"Renewal of level {level} opens on {opens:%Y-%m-%d}, "
                f"{rules.RENEWAL_OPENS.days} days before it expires.",
                renewal_opens_at=opens.isoformat(),
            )
        if now > closes:
            raise RenewalNotOpen(
                f"Level {level} expired on {held.expires_at:%Y-%m-%d} and its "
                f"{rules.RENEWAL_GRACE.days}-day renewal period has ended; take the full "
                f"level {level} exam again.",
                renewal_closes_at=closes.isoformat(),
            )

    async def submit(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        level: int,
        attempt_id: uuid.UUID,
        answers: Sequence[tuple[str, str]],
    ) -> ExamResultRead:
        """Grade the open attempt. After its deadline (and SUBMIT_GRACE) the attempt is
        expired and scores nothing, whatever the answers."""
        course = _course(level)
        now = utcnow()
        attempt = await AttemptRepository(session).open_attempt_for_update(
            principal.user_id, level, attempt_id
        )
        if attempt is None:
            raise NoExamInProgress(
                f"Attempt {attempt_id} is not an open level {level} exam of yours; it was "
                "submitted already or never started. Start the exam to get a new attempt."
            )
        certifications = CertificationRepository(session)
        if _past_deadline(attempt, now):
            _close(attempt, AttemptStatus.expired, now)
            await session.flush()
            return _result(attempt, await certifications.one(principal.user_id, level))
        chosen = self._chosen_positions(attempt, answers)
        outcomes = []
        for item in attempt.questions:
            question_id = str(item["question_id"])
            question = course.question(question_id)
            assert question is not None
            position = chosen.get(question_id)
            order: list[int] = list(item["options"])
            outcomes.append(
                {
                    "question_id": question_id,
                    "module_id": question.module_id,
                    "chosen": position,
                    "correct": position is not None and order[position] == question.answer_index,
                }
            )
        attempt.outcomes = outcomes
        attempt.correct = sum(1 for outcome in outcomes if outcome["correct"])
        passed = rules.passed(attempt.correct, attempt.total, attempt.pass_mark_percent)
        _close(attempt, AttemptStatus.passed if passed else AttemptStatus.failed, now)
        certification = await certifications.one(principal.user_id, level)
        if passed:
            certification = await self._certify(session, principal, attempt, certification, now)
        await session.flush()
        return _result(attempt, certification)

    @staticmethod
    def _chosen_positions(
        attempt: ExamAttempt, answers: Sequence[tuple[str, str]]
    ) -> dict[str, int]:
        shown = {str(item["question_id"]): len(item["options"]) for item in attempt.questions}
        chosen: dict[str, int] = {}
        problems = []
        for question_id, option_id in answers:
            if question_id not in shown:
                problems.append(f"{question_id} is not a question of this attempt")
            elif question_id in chosen:
                problems.append(f"{question_id} is answered twice")
            elif option_id not in OPTION_IDS[: shown[question_id]] or not option_id:
                problems.append(f"{option_id!r} is not an option of {question_id}")
            else:
                chosen[question_id] = OPTION_IDS.index(option_id)
        if problems:
            raise InvalidAnswers(
                "; ".join(problems) + ". Nothing was graded; the attempt is still open.",
                errors=[
                    {"loc": ["body", "answers"], "msg": problem, "type": "value_error"}
                    for problem in problems
                ],
            )
        return chosen

    async def _certify(
        self,
        session: AsyncSession,
        principal: Principal,
        attempt: ExamAttempt,
        certification: Certification | None,
        now: datetime,
    ) -> Certification:
        if certification is None:
            certification = Certification(user_id=principal.user_id, level=attempt.level)
            session.add(certification)
        if attempt.kind is AttemptKind.renewal and certification.expires_at is not None:
            certification.expires_at = max(certification.expires_at, now) + rules.VALIDITY
            certification.renewed_at = now
        else:
            certification.earned_at = now
            certification.expires_at = now + rules.VALIDITY
            certification.renewed_at = None
        certification.expired_at = None
        certification.attempt_id = attempt.id
        await publish(
            session,
            CertificationPassed(
                level=attempt.level,
                attempt_id=attempt.id,
                kind=attempt.kind.value,
                score_percent=rules.score_percent(attempt.correct, attempt.total),
                expires_at=certification.expires_at,
            ),
            user_id=principal.user_id,
        )
        return certification

    # Background work

    async def expire_due(self, session: AsyncSession) -> tuple[int, int]:
        """Close attempts whose time ran out and publish `certification.expired` once for
        each level that reached its expiry; (attempts closed, certifications expired)."""
        now = utcnow()
        attempts = AttemptRepository(session)
        closed = 0
        for attempt in await attempts.overdue(now - rules.SUBMIT_GRACE, SWEEP_BATCH):
            _close(attempt, AttemptStatus.expired, None)
            closed += 1
        certifications = CertificationRepository(session)
        expired = 0
        for certification in await certifications.newly_expired(now, SWEEP_BATCH):
            user_id, level, expires_at = (
                certification.user_id,
                certification.level,
                certification.expires_at,
            )
            if await certifications.mark_expired(user_id, level, now):
                await publish(
                    session,
                    CertificationExpired(level=level, expired_at=expires_at),
                    user_id=user_id,
                )
                expired += 1
        await session.flush()
        return closed, expired


certifications = CertificationService()


@profile_facts.provider("certification_level")
async def _certification_level(session: AsyncSession, user_id: uuid.UUID) -> Fact:
    """The level, good until the first held level expires (or the next commit)."""
    now = utcnow()
    held = [
        certification
        for certification in await CertificationRepository(session).held(user_id)
        if _active(certification, now)
    ]
    return Fact(
        value=max((c.level for c in held), default=0),
        fresh_until=min((c.expires_at for c in held), default=None),
    )
