"""Scanning: read a source, normalize, dedupe, score and store, one batch per transaction.

Stages are pure functions (`normalize`, `dedupe`, `analysis`); this module only moves batches
between the source and the database, so a bad item costs one skipped posting, a failing source
one report line, and a crash at most the batch in flight (the cursor advances with the batch).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.connections.context import IntegrationContext
from gigforge.connections.models import Connection, ConnectionStatus
from gigforge.connections.service import connections as connection_service
from gigforge.db import unit_of_work
from gigforge.integrations.framework import (
    Capability,
    IntegrationError,
    IntegrationSpec,
    JobFeed,
    JobPosting,
    JobQuery,
    Marketplace,
)
from gigforge.kit.clock import utcnow
from gigforge.opportunities.analysis import ModelWeights, analyze
from gigforge.opportunities.dedupe import (
    NEAR_DUPLICATE_DISTANCE,
    bands,
    fingerprint_signed,
    fingerprint_unsigned,
    hamming,
    simhash,
)
from gigforge.opportunities.models import Opportunity, SourceSchedule
from gigforge.opportunities.normalize import NormalizationError, normalize
from gigforge.opportunities.repository import OpportunityRepository, ProfileRepository
from gigforge.opportunities.service import matching_profile, weights_of
from gigforge.opportunities.types import Analysis, Attribution, MatchingProfile, NormalizedPosting

logger = structlog.get_logger("gigforge.opportunities")

SCANNED_CAPABILITIES = (Capability.marketplace, Capability.job_feed)
DEFAULT_INTERVAL = timedelta(minutes=15)
BATCH_SIZE = 500
MAX_POSTINGS_PER_SCAN = 5_000


@dataclass
class ScanReport:
    connection_id: uuid.UUID
    integration: str
    name: str
    found: int = 0
    updated: int = 0
    duplicates: int = 0
    skipped: int = 0
    error: str | None = None
    skipped_reasons: list[str] = field(default_factory=list)

    @property
    def seen(self) -> int:
        return self.found + self.updated + self.duplicates + self.skipped


def scan_interval(spec: IntegrationSpec) -> timedelta:
    """Often enough to be useful, rarely enough to stay well inside the source's limits:
    at most a quarter of the strictest limit's calls per window, and never under 15 minutes."""
    seconds = DEFAULT_INTERVAL.total_seconds()
    for item in spec.parsed_limits():
        seconds = max(seconds, 4 * item.get_expiry() / item.amount)
    return timedelta(seconds=seconds)


def _attribution(posting: JobPosting) -> Attribution | None:
    raw = posting.raw.get("attribution") if isinstance(posting.raw, dict) else None
    if not isinstance(raw, dict) or not raw.get("source"):
        return None
    return Attribution(
        source=str(raw["source"]), url=str(raw.get("url") or posting.url), notice=raw.get("notice")
    )


class Scanner:
    def __init__(
        self,
        context: IntegrationContext,
        *,
        batch_size: int = BATCH_SIZE,
        max_postings: int = MAX_POSTINGS_PER_SCAN,
    ) -> None:
        self.context = context
        self.batch_size = batch_size
        self.max_postings = max_postings

    async def scan(
        self,
        connection_id: uuid.UUID,
        *,
        progress: Callable[[int], None] | None = None,
    ) -> ScanReport:
        database = self.context.database
        async with unit_of_work(database) as session:
            connection = await session.get(Connection, connection_id)
            if connection is None:
                raise LookupError(f"connection {connection_id} is gone")
            report = ScanReport(connection.id, connection.integration, connection.name)
            schedule = await session.get(SourceSchedule, connection_id)
            cursor = schedule.cursor if schedule else None
            since = schedule.last_run_at if schedule else None
            profile_row = await ProfileRepository(session).for_user(connection.user_id)
            profile, weights = matching_profile(profile_row), weights_of(profile_row)
            connector = await connection_service.connector(
                session, context=self.context, connection=connection
            )
            user_id = connection.user_id
        started = utcnow()
        batch: list[JobPosting] = []
        last_cursor = cursor
        try:
            async with connector.client:
                async for posting in self._postings(
                    connector, cursor=cursor, since=since, profile=profile
                ):
                    batch.append(posting)
                    if len(batch) >= self.batch_size:
                        last_cursor = await self._flush(
                            batch, user_id, connection_id, profile, weights, report, last_cursor
                        )
                        batch = []
                        if progress:
                            progress(report.seen)
                if batch:
                    last_cursor = await self._flush(
                        batch, user_id, connection_id, profile, weights, report, last_cursor
                    )
                    if progress:
                        progress(report.seen)
        except IntegrationError as exc:
            report.error = exc.detail
            logger.warning("scan failed", integration=report.integration, error=exc.detail)
        await self._finish(connection_id, report, cursor=last_cursor, started=started)
        return report

    async def _postings(
        self, connector: Any, *, cursor: str | None, since: Any, profile: MatchingProfile
    ) -> AsyncIterator[JobPosting]:
        """Marketplaces are searched with the user's filters (skills, minimum budget); feeds
        have no search, so every listing is scored instead."""
        if isinstance(connector, Marketplace):
            query = JobQuery(
                cursor=cursor,
                limit=self.max_postings,
                skills=profile.skills,
                min_budget_minor=profile.min_budget_minor,
                posted_after=since,
            )
            async for posting in connector.search(query):
                yield posting
        elif isinstance(connector, JobFeed):
            async for posting in connector.listings(since=since, cursor=cursor):
                yield posting
        else:
            raise IntegrationError(
                "this integration offers no job source", integration=connector.spec.slug
            )

    async def _flush(
        self,
        batch: Sequence[JobPosting],
        user_id: uuid.UUID,
        connection_id: uuid.UUID | None,
        profile: MatchingProfile,
        weights: ModelWeights,
        report: ScanReport,
        cursor: str | None,
    ) -> str | None:
        async with unit_of_work(self.context.database) as session:
            new_ids = await self.store(
                session,
                batch,
                user_id=user_id,
                connection_id=connection_id,
                profile=profile,
                weights=weights,
                report=report,
            )
        for opportunity_id, title, platform in new_ids:
            await self.context.runtime.events.publish(
                "opportunity.found",
                {"opportunity_id": str(opportunity_id), "platform": platform, "title": title},
                user_id=user_id,
            )
        for posting in reversed(batch):
            if posting.cursor:
                return posting.cursor
        return cursor

    async def store(
        self,
        session: AsyncSession,
        batch: Sequence[JobPosting],
        *,
        user_id: uuid.UUID,
        connection_id: uuid.UUID | None,
        profile: MatchingProfile,
        weights: ModelWeights,
        report: ScanReport,
    ) -> list[tuple[uuid.UUID, str, str]]:
        """Upsert one batch; returns the new, non-duplicate opportunities."""
        normalized: dict[tuple[str, str], NormalizedPosting] = {}
        for posting in batch:
            try:
                item = normalize(posting, attribution=_attribution(posting))
            except NormalizationError as exc:
                report.skipped += 1
                report.skipped_reasons.append(str(exc))
                logger.warning("posting skipped", platform=posting.platform, reason=str(exc))
                continue
            normalized[(item.platform, item.external_id)] = item
        repository = OpportunityRepository(session)
        by_platform: dict[str, list[NormalizedPosting]] = {}
        for item in normalized.values():
            by_platform.setdefault(item.platform, []).append(item)
        fresh: list[tuple[NormalizedPosting, Analysis, int]] = []
        for platform, items in by_platform.items():
            existing = await repository.existing(user_id, platform, [i.external_id for i in items])
            for item in items:
                analysis = analyze(item, profile, weights)
                row = existing.get(item.external_id)
                if row is None:
                    fresh.append((item, analysis, simhash(item)))
                    continue
                _apply(row, item, analysis)
                report.updated += 1
        if not fresh:
            return []
        candidates = await repository.band_candidates(user_id, [bands(fp) for *_, fp in fresh])
        index = _BandIndex()
        for candidate_id, _platform, stored in candidates:
            index.add(candidate_id, fingerprint_unsigned(stored))
        rows: list[dict[str, Any]] = []
        created: list[tuple[uuid.UUID, str, str]] = []
        for item, analysis, fingerprint in fresh:
            original = index.near(fingerprint)
            opportunity_id = uuid.uuid4()
            rows.append(
                _row(
                    item,
                    analysis,
                    user_id=user_id,
                    connection_id=connection_id,
                    opportunity_id=opportunity_id,
                    fingerprint=fingerprint,
                    duplicate_of=original,
                )
            )
            if original is None:
                index.add(opportunity_id, fingerprint)
                created.append((opportunity_id, item.title, item.platform))
                report.found += 1
            else:
                report.duplicates += 1
        await session.execute(insert(Opportunity), rows)
        return created

    async def _finish(
        self,
        connection_id: uuid.UUID,
        report: ScanReport,
        *,
        cursor: str | None,
        started: Any,
    ) -> None:
        async with unit_of_work(self.context.database) as session:
            schedule = await session.get(SourceSchedule, connection_id)
            connection = await session.get(Connection, connection_id)
            if connection is None:
                return
            if schedule is None:
                schedule = SourceSchedule(connection_id=connection_id, user_id=connection.user_id)
                session.add(schedule)
            spec = self.context.spec_for(connection.integration)
            interval = scan_interval(spec)
            schedule.interval_seconds = int(interval.total_seconds())
            schedule.cursor = cursor
            schedule.last_run_at = started
            schedule.last_found = report.found
            schedule.last_error = report.error[:500] if report.error else None
            schedule.next_run_at = utcnow() + interval
            schedule.claimed_until = None


class _BandIndex:
    """Originals by each 16-bit band of their fingerprint. Two fingerprints within
    NEAR_DUPLICATE_DISTANCE bits share at least one band, so only a band's bucket needs the
    exact comparison, and a batch costs about one lookup per posting instead of one per pair."""

    def __init__(self) -> None:
        self._buckets: tuple[dict[int, list[tuple[uuid.UUID, int]]], ...] = ({}, {}, {}, {})

    def add(self, opportunity_id: uuid.UUID, fingerprint: int) -> None:
        for bucket, band in zip(self._buckets, bands(fingerprint), strict=True):
            bucket.setdefault(band, []).append((opportunity_id, fingerprint))

    def near(self, fingerprint: int) -> uuid.UUID | None:
        for bucket, band in zip(self._buckets, bands(fingerprint), strict=True):
            for opportunity_id, other in bucket.get(band, ()):
                if hamming(fingerprint, other) <= NEAR_DUPLICATE_DISTANCE:
                    return opportunity_id
        return None


def _apply(row: Opportunity, item: NormalizedPosting, analysis: Analysis) -> None:
    row.title = item.title
    row.description = item.description
    row.description_text = item.description_text
    row.skills = list(item.skills)
    row.skills_text = _skills_text(item.skills)
    row.budget_kind = item.budget_kind
    row.budget_min_minor = item.budget_min_minor
    row.budget_max_minor = item.budget_max_minor
    row.currency = item.currency
    row.proposals_count = item.proposals_count
    row.deadline = item.deadline
    _apply_analysis(row, analysis)


def _apply_analysis(row: Opportunity, analysis: Analysis) -> None:
    row.complexity_score = analysis.complexity_score
    row.success_probability = analysis.success_probability
    row.estimated_hours = analysis.estimated_hours
    row.fit_score = analysis.fit_score
    row.factors = list(analysis.factors)
    row.features = dict(analysis.features)


def _skills_text(skills: Sequence[str]) -> str:
    return "|" + "|".join(skills) + "|" if skills else ""


def _row(
    item: NormalizedPosting,
    analysis: Analysis,
    *,
    user_id: uuid.UUID,
    connection_id: uuid.UUID | None,
    opportunity_id: uuid.UUID,
    fingerprint: int,
    duplicate_of: uuid.UUID | None,
) -> dict[str, Any]:
    band = bands(fingerprint)
    now = utcnow()
    client = item.client
    return {
        "id": opportunity_id,
        "user_id": user_id,
        "connection_id": connection_id,
        "platform": item.platform,
        "external_id": item.external_id,
        "url": item.url,
        "title": item.title,
        "description": item.description,
        "description_text": item.description_text,
        "skills": list(item.skills),
        "skills_text": _skills_text(item.skills),
        "category": item.category,
        "budget_kind": item.budget_kind,
        "budget_min_minor": item.budget_min_minor,
        "budget_max_minor": item.budget_max_minor,
        "currency": item.currency,
        "posted_at": item.posted_at,
        "deadline": item.deadline,
        "client": {key: value for key, value in vars(client).items() if value is not None},
        "proposals_count": item.proposals_count,
        "attribution": vars(item.attribution) if item.attribution else None,
        "raw": dict(item.raw),
        "fingerprint": fingerprint_signed(fingerprint),
        "band0": band[0],
        "band1": band[1],
        "band2": band[2],
        "band3": band[3],
        "duplicate_of_id": duplicate_of,
        "complexity_score": analysis.complexity_score,
        "success_probability": analysis.success_probability,
        "estimated_hours": analysis.estimated_hours,
        "fit_score": analysis.fit_score,
        "factors": list(analysis.factors),
        "features": dict(analysis.features),
        "first_seen_at": now,
        "updated_at": now,
    }


async def sources_of(
    session: AsyncSession, context: IntegrationContext, user_id: uuid.UUID, slug: str | None
) -> list[Connection]:
    """The user's active connections that can be scanned, optionally of one integration."""
    found: list[Connection] = []
    for capability in SCANNED_CAPABILITIES:
        for connection in await connection_service.chain(
            session, user_id, capability, context=context
        ):
            if (slug is None or connection.integration == slug) and connection not in found:
                found.append(connection)
    return [c for c in found if c.status is ConnectionStatus.active]
