"""Every query of the opportunities domain."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, func, or_, select, union, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from gigforge.kit.db import dialect_insert
from gigforge.kit.repository import Repository
from gigforge.opportunities.models import (
    InboundEndpoint,
    InboundSeenSignature,
    Opportunity,
    OpportunityProfile,
    ScanRun,
    ScanRunSource,
    ScanSourceState,
    SourceSchedule,
)
from gigforge.opportunities.schemas import OpportunityFilter, Sort

#: Ids per IN list: well inside every driver's limit on bound parameters.
_ID_CHUNK = 500


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


_SORTS: dict[Sort, tuple[ColumnElement[Any], ...]] = {
    Sort.newest: (Opportunity.posted_at.desc().nulls_last(),),
    Sort.oldest: (Opportunity.posted_at.asc().nulls_last(),),
    Sort.best: (Opportunity.success_probability.desc(),),
    Sort.worst: (Opportunity.success_probability.asc(),),
    Sort.highest_budget: (Opportunity.budget_max_minor.desc().nulls_last(),),
    Sort.lowest_budget: (Opportunity.budget_max_minor.asc().nulls_last(),),
}


class OpportunityRepository(Repository[Opportunity]):
    model = Opportunity

    async def titles(
        self, user_id: uuid.UUID, opportunity_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, str]:
        if not opportunity_ids:
            return {}
        statement = select(Opportunity.id, Opportunity.title).where(
            Opportunity.user_id == user_id, Opportunity.id.in_(set(opportunity_ids))
        )
        return {row.id: row.title for row in await self.session.execute(statement)}

    async def get_by_external_id(
        self, user_id: uuid.UUID, *, platform: str, external_id: str
    ) -> Opportunity | None:
        return await self.get_one(
            self.scoped(user_id).where(
                Opportunity.platform == platform, Opportunity.external_id == external_id
            )
        )

    def filtered(
        self, user_id: uuid.UUID, criteria: OpportunityFilter, sort: Sort
    ) -> Select[Opportunity]:
        statement = self.scoped(user_id)
        if criteria.platform:
            statement = statement.where(Opportunity.platform == criteria.platform)
        if criteria.min_budget_minor is not None:
            top = func.coalesce(Opportunity.budget_max_minor, Opportunity.budget_min_minor)
            statement = statement.where(top >= criteria.min_budget_minor)
        if criteria.max_budget_minor is not None:
            bottom = func.coalesce(Opportunity.budget_min_minor, Opportunity.budget_max_minor)
            statement = statement.where(bottom <= criteria.max_budget_minor)
        if criteria.skills:
            statement = statement.where(
                or_(
                    *(
                        Opportunity.skills_text.like(f"%|{_escape_like(skill)}|%", escape="\\")
                        for skill in criteria.skills
                    )
                )
            )
        if criteria.q:
            pattern = f"%{_escape_like(criteria.q.lower())}%"
            statement = statement.where(
                or_(
                    func.lower(Opportunity.title).like(pattern, escape="\\"),
                    func.lower(Opportunity.description_text).like(pattern, escape="\\"),
                )
            )
        if criteria.min_score is not None:
            statement = statement.where(Opportunity.success_probability >= criteria.min_score)
        if criteria.posted_after is not None:
            statement = statement.where(Opportunity.posted_at >= criteria.posted_after)
        if not criteria.include_dismissed:
            statement = statement.where(Opportunity.dismissed_at.is_(None))
        if not criteria.include_duplicates:
            statement = statement.where(Opportunity.duplicate_of_id.is_(None))
        return statement.order_by(*_SORTS[sort], Opportunity.id)

    async def count_filtered(self, user_id: uuid.UUID, criteria: OpportunityFilter) -> int:
        statement = self.filtered(user_id, criteria, Sort.newest).order_by(None)
        count = select(func.count()).select_from(statement.subquery())
        return int((await self.session.execute(count)).scalar_one())

    async def existing(
        self, user_id: uuid.UUID, platform: str, external_ids: Sequence[str]
    ) -> dict[str, Opportunity]:
        if not external_ids:
            return {}
        rows = await self.all(
            self.scoped(user_id).where(
                Opportunity.platform == platform, Opportunity.external_id.in_(external_ids)
            )
        )
        return {row.external_id: row for row in rows}

    async def insert_missing(self, rows: Sequence[dict[str, Any]]) -> set[uuid.UUID]:
        """Insert the rows no other transaction stored first (same user, platform and
        external id); the ids of those inserted."""
        statement = dialect_insert(self.session, Opportunity).on_conflict_do_nothing(
            index_elements=["user_id", "platform", "external_id"]
        )
        inserted = await self.session.execute(statement.returning(Opportunity.id), list(rows))
        return set(inserted.scalars())

    async def band_candidates(
        self,
        user_id: uuid.UUID,
        bands: Sequence[tuple[int, int, int, int]],
        *,
        excluding_scan: tuple[uuid.UUID, datetime] | None = None,
    ) -> Sequence[tuple[uuid.UUID, str, int]]:
        """Originals sharing a band with any of these fingerprints: near-duplicate candidates.

        One SELECT per band, joined by UNION, so each uses its own (user_id, band) index. The
        same test written as one OR leads SQLite to read every row the user has, which made each
        batch of a scan slower than the last. `excluding_scan`, a connection and the time its
        scan started, leaves out what that scan has stored so far: the scan holds those itself.
        """
        if not bands:
            return []
        scope = [Opportunity.user_id == user_id, Opportunity.duplicate_of_id.is_(None)]
        if excluding_scan is not None:
            connection_id, started = excluding_scan
            scope.append(
                or_(
                    Opportunity.connection_id.is_(None),
                    Opportunity.connection_id != connection_id,
                    Opportunity.first_seen_at < started,
                )
            )
        columns = (Opportunity.band0, Opportunity.band1, Opportunity.band2, Opportunity.band3)
        per_band = [
            select(Opportunity.id, Opportunity.platform, Opportunity.fingerprint).where(
                column.in_({band[index] for band in bands}), *scope
            )
            for index, column in enumerate(columns)
        ]
        result = await self.session.execute(union(*per_band))
        return [(row[0], row[1], row[2]) for row in result.all()]

    async def outcomes(self, user_id: uuid.UUID) -> Sequence[Opportunity]:
        return await self.all(
            self.scoped(user_id)
            .where(Opportunity.outcome.is_not(None))
            .order_by(Opportunity.outcome_at, Opportunity.id)
        )


class ProfileRepository(Repository[OpportunityProfile]):
    model = OpportunityProfile

    async def for_user(self, user_id: uuid.UUID) -> OpportunityProfile | None:
        return await self.session.get(OpportunityProfile, user_id)


class SourceScheduleRepository(Repository[SourceSchedule]):
    model = SourceSchedule

    async def claim_due(
        self, *, now: datetime, lease_until: datetime, limit: int
    ) -> list[SourceSchedule]:
        """Take up to `limit` due sources for this worker; another worker's claim is skipped
        until its lease runs out, so a dead worker's sources come back on their own."""
        due = await self.all(
            self.statement()
            .where(
                SourceSchedule.next_run_at <= now,
                or_(SourceSchedule.claimed_until.is_(None), SourceSchedule.claimed_until < now),
            )
            .order_by(SourceSchedule.next_run_at)
            .limit(limit)
        )
        claimed = []
        for schedule in due:
            result = await self.session.execute(
                update(SourceSchedule)
                .where(
                    SourceSchedule.connection_id == schedule.connection_id,
                    or_(
                        SourceSchedule.claimed_until.is_(None),
                        SourceSchedule.claimed_until < now,
                    ),
                )
                .values(claimed_until=lease_until)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                claimed.append(schedule)
        return claimed

    async def claim(
        self,
        connection_id: uuid.UUID,
        *,
        user_id: uuid.UUID,
        now: datetime,
        lease_until: datetime,
        interval_seconds: int,
    ) -> bool:
        """Take one source now, due or not ("scan now"); False while another holds it."""
        if await self.session.get(SourceSchedule, connection_id) is None:
            self.session.add(
                SourceSchedule(
                    connection_id=connection_id,
                    user_id=user_id,
                    interval_seconds=interval_seconds,
                    next_run_at=now,
                    claimed_until=lease_until,
                )
            )
            await self.session.flush()
            return True
        result = await self.session.execute(
            update(SourceSchedule)
            .where(
                SourceSchedule.connection_id == connection_id,
                or_(SourceSchedule.claimed_until.is_(None), SourceSchedule.claimed_until < now),
            )
            .values(claimed_until=lease_until)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def known(self, connection_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """Which of these connections have a schedule row already."""
        known: set[uuid.UUID] = set()
        for start in range(0, len(connection_ids), _ID_CHUNK):
            chunk = connection_ids[start : start + _ID_CHUNK]
            result = await self.session.execute(
                select(SourceSchedule.connection_id).where(SourceSchedule.connection_id.in_(chunk))
            )
            known.update(result.scalars().all())
        return known

    async def release_after_crash(self, connection_id: uuid.UUID, *, now: datetime) -> None:
        """A scan that crashed gives its source back, due again after its interval."""
        schedule = await self.session.get(SourceSchedule, connection_id)
        if schedule is not None:
            schedule.claimed_until = None
            schedule.last_error = "the scan crashed; see the server log"
            schedule.next_run_at = now + timedelta(seconds=schedule.interval_seconds)


class ScanRunRepository(Repository[ScanRun]):
    """Scan-now runs (one per user at most) and their sources' progress."""

    model = ScanRun

    async def for_user(self, user_id: uuid.UUID) -> ScanRun | None:
        return await self.get_one(self.scoped(user_id))

    async def sources(self, run_id: uuid.UUID) -> Sequence[ScanRunSource]:
        result = await self.session.execute(
            select(ScanRunSource)
            .where(ScanRunSource.run_id == run_id)
            .order_by(ScanRunSource.position)
        )
        return result.scalars().all()

    async def source(self, run_id: uuid.UUID, connection_id: uuid.UUID) -> ScanRunSource | None:
        return await self.session.get(ScanRunSource, (run_id, connection_id))

    async def delete_run(self, run_id: uuid.UUID) -> None:
        """A finished run and its sources. Statements, not the unit of work: a concurrent
        start may have deleted the same rows already, which is no error."""
        await self.session.execute(
            delete(ScanRunSource)
            .where(ScanRunSource.run_id == run_id)
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(
            delete(ScanRun).where(ScanRun.id == run_id).execution_options(synchronize_session=False)
        )

    async def update_source(
        self,
        run_id: uuid.UUID,
        connection_id: uuid.UUID,
        *,
        unless: Sequence[ScanSourceState] = (),
        **values: Any,
    ) -> bool:
        """Change one source's progress, unless it is in one of the `unless` states; False
        when nothing matched (the run was replaced, or the source already ended)."""
        statement = update(ScanRunSource).where(
            ScanRunSource.run_id == run_id, ScanRunSource.connection_id == connection_id
        )
        if unless:
            statement = statement.where(ScanRunSource.state.not_in(unless))
        result = await self.session.execute(
            statement.values(**values).execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


class InboundEndpointRepository(Repository[InboundEndpoint]):
    model = InboundEndpoint

    def listed(self, user_id: uuid.UUID) -> Select[InboundEndpoint]:
        return self.scoped(user_id).order_by(InboundEndpoint.created_at.desc(), InboundEndpoint.id)

    async def delete(self, endpoint: InboundEndpoint) -> None:
        await self.session.delete(endpoint)
        await self.session.flush()


class SeenSignatureRepository:
    """Signatures of inbound requests already taken, while they could still verify."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def first_use(
        self, endpoint_id: uuid.UUID, signature: str, *, expires_at: datetime, now: datetime
    ) -> bool:
        """Record a signature; False when it was recorded before (the request is a replay).
        One INSERT ... ON CONFLICT DO NOTHING, so two copies racing each other cannot both
        be first, in one process or many."""
        await self._sweep(now)
        statement = (
            dialect_insert(self.session, InboundSeenSignature)
            .values(
                id=uuid.uuid4(),
                endpoint_id=endpoint_id,
                signature=signature,
                expires_at=expires_at,
            )
            .on_conflict_do_nothing(index_elements=["endpoint_id", "signature"])
            .returning(InboundSeenSignature.id)
        )
        return (await self.session.execute(statement)).first() is not None

    async def _sweep(self, now: datetime, batch: int = 100) -> None:
        """Drop up to `batch` signatures too old to verify again; rows another transaction
        holds are skipped rather than waited for."""
        expired = (
            select(InboundSeenSignature.id)
            .where(InboundSeenSignature.expires_at <= now)
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
        await self.session.execute(
            delete(InboundSeenSignature).where(InboundSeenSignature.id.in_(expired))
        )
