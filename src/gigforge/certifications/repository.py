"""Every query of the certifications domain."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update

from gigforge.certifications.models import AttemptStatus, Certification, ExamAttempt
from gigforge.kit.repository import Repository


class AttemptRepository(Repository[ExamAttempt]):
    model = ExamAttempt

    async def open_attempt(self, user_id: uuid.UUID, level: int) -> ExamAttempt | None:
        return await self.get_one(
            self.scoped(user_id).where(
                ExamAttempt.level == level, ExamAttempt.status == AttemptStatus.in_progress
            )
        )

    async def open_attempt_for_update(
        self, user_id: uuid.UUID, level: int, attempt_id: uuid.UUID
    ) -> ExamAttempt | None:
        """The open attempt, locked (PostgreSQL) so two submits cannot both grade it."""
        return await self.get_one(
            self.scoped(user_id)
            .where(
                ExamAttempt.id == attempt_id,
                ExamAttempt.level == level,
                ExamAttempt.status == AttemptStatus.in_progress,
            )
            .with_for_update()
        )

    async def last_finished(self, user_id: uuid.UUID, level: int) -> ExamAttempt | None:
        return await self.get_one(
            self.scoped(user_id)
            .where(ExamAttempt.level == level, ExamAttempt.status != AttemptStatus.in_progress)
            .order_by(ExamAttempt.started_at.desc())
        )

    async def finished(self, user_id: uuid.UUID, level: int, limit: int) -> Sequence[ExamAttempt]:
        return await self.all(
            self.scoped(user_id)
            .where(ExamAttempt.level == level, ExamAttempt.status != AttemptStatus.in_progress)
            .order_by(ExamAttempt.started_at.desc())
            .limit(limit)
        )

    async def overdue(self, now: datetime, limit: int) -> Sequence[ExamAttempt]:
        """Open attempts whose time ran out, oldest first, for the expiry sweep."""
        return await self.all(
            self.statement()
            .where(ExamAttempt.status == AttemptStatus.in_progress, ExamAttempt.deadline_at < now)
            .order_by(ExamAttempt.deadline_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )


class CertificationRepository(Repository[Certification]):
    model = Certification

    async def held(self, user_id: uuid.UUID) -> Sequence[Certification]:
        return await self.all(self.scoped(user_id).order_by(Certification.level))

    async def one(self, user_id: uuid.UUID, level: int) -> Certification | None:
        return await self.session.get(Certification, (user_id, level))

    async def highest_active_level(self, user_id: uuid.UUID, now: datetime) -> int:
        levels = (
            await self.session.execute(
                select(Certification.level).where(
                    Certification.user_id == user_id, Certification.expires_at > now
                )
            )
        ).scalars()
        return max(levels, default=0)

    async def newly_expired(self, now: datetime, limit: int) -> Sequence[Certification]:
        return await self.all(
            self.statement()
            .where(Certification.expires_at <= now, Certification.expired_at.is_(None))
            .order_by(Certification.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )

    async def mark_expired(self, user_id: uuid.UUID, level: int, now: datetime) -> bool:
        """Record the expiry once; False when another run recorded it first."""
        result = await self.session.execute(
            update(Certification)
            .where(
                Certification.user_id == user_id,
                Certification.level == level,
                Certification.expired_at.is_(None),
                Certification.expires_at <= now,
            )
            .values(expired_at=now)
            .execution_options(synchronize_session=False)
        )
        return getattr(result, "rowcount", 0) == 1
