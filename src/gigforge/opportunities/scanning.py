"""Scanning: read a source, normalize, dedupe, score and store, one batch per transaction.

Stages are pure functions (`normalize`, `dedupe`, `analysis`); this module only moves batches
between the source and the database, so a bad item costs one skipped posting, a failing source
one report line, and a crash at most the batch in flight (the cursor advances with the batch).
A scan runs its stages side by side: while one batch is written, the next is fetched and scored.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta
from functools import partial
from typing import Any, NamedTuple, cast

import structlog
from sqlalchemy import Table, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.connections.context import IntegrationContext
from gigforge.connections.service import ConnectionRef
from gigforge.connections.service import connections as connection_service
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
from gigforge.kit.db import unit_of_work
from gigforge.kit.outbox import publish_many
from gigforge.opportunities.analysis import ModelWeights, Scorer
from gigforge.opportunities.dedupe import (
    NEAR_DUPLICATE_DISTANCE,
    bands,
    fingerprint_signed,
    fingerprint_unsigned,
    hamming,
    simhash,
)
from gigforge.opportunities.events import OpportunityFound
from gigforge.opportunities.models import Opportunity, SourceSchedule
from gigforge.opportunities.normalize import NormalizationError, normalize
from gigforge.opportunities.repository import OpportunityRepository, ProfileRepository
from gigforge.opportunities.service import matching_profile, weights_of
from gigforge.opportunities.types import (
    Analysis,
    Attribution,
    ClientInfo,
    MatchingProfile,
    NormalizedPosting,
)

logger = structlog.get_logger("gigforge.opportunities")

SCANNED_CAPABILITIES = (Capability.marketplace, Capability.job_feed)
DEFAULT_INTERVAL = timedelta(minutes=15)
# SQLite writes every index page a transaction touched at commit, and the eight indexes of the
# opportunities table are spread at random, so larger transactions cost less per row: at 100,000
# rows, 2,000 per batch take under two thirds of the time per row that 500 do.
BATCH_SIZE = 2_000
MAX_POSTINGS_PER_SCAN = 5_000
# The reader yields to the event loop this often, so a write waiting on the
# database resumes soon after its answer arrives rather than after a whole page of work.
_YIELD_EVERY = 16
_OPPORTUNITIES = cast(Table, Opportunity.__table__)
_CLIENT_FIELDS = tuple(item.name for item in fields(ClientInfo))
_FINGERPRINT = struct.Struct("<Q")


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


class _Scored(NamedTuple):
    fingerprint: int
    row: dict[str, Any]  # the opportunities row, but for its id and duplicate_of_id


class _Batch:
    """Postings normalized, scored, fingerprinted and laid out as rows, waiting for their
    transaction, which then has only the database's part to do. Scores in one batch are taken
    at one moment, so listings stored together are aged alike.

    Only the rows are kept, not the postings they were made from: a scan holds a few thousand
    listings in flight, and each object fewer is one the garbage collector need not walk.
    """

    def __init__(
        self, scorer: Scorer, *, user_id: uuid.UUID, connection_id: uuid.UUID | None
    ) -> None:
        self.scorer = scorer
        self.user_id = user_id
        self.connection_id = connection_id
        self.now = utcnow()
        self.items: dict[tuple[str, str], _Scored] = {}
        self.skipped_reasons: list[str] = []
        self.cursor: str | None = None
        self.size = 0

    def add(self, posting: JobPosting) -> None:
        """A listing seen twice in one batch is stored once, as last seen."""
        self.size += 1
        if posting.cursor:
            self.cursor = posting.cursor
        try:
            item = normalize(posting, attribution=_attribution(posting))
        except NormalizationError as exc:
            self.skipped_reasons.append(str(exc))
            logger.warning("posting skipped", platform=posting.platform, reason=str(exc))
            return
        fingerprint = simhash(item)
        row = _row(
            item,
            self.scorer.score(item, now=self.now),
            user_id=self.user_id,
            connection_id=self.connection_id,
            fingerprint=fingerprint,
            now=self.now,
        )
        self.items[(item.platform, item.external_id)] = _Scored(fingerprint, row)


# What the reader puts on the queue once the source has nothing more.
_END = None


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
        progress: Callable[[int], Awaitable[None] | None] | None = None,
    ) -> ScanReport:
        """Three stages overlap: a reader task fetches and scores at most one batch ahead,
        this coroutine writes batch after batch, and each batch's events go out while the next
        is written. The database works outside the event loop's thread (SQLite in aiosqlite's,
        PostgreSQL in its server), so its time hides behind the reader's.

        `progress` is told how many listings were read after each batch is stored; it may be a
        coroutine function, awaited with no transaction of the scan open."""
        database = self.context.database
        async with unit_of_work(database) as session:
            connection = await connection_service.find(session, connection_id)
            if connection is None:
                raise LookupError(f"connection {connection_id} is gone")
            report = ScanReport(connection.id, connection.integration, connection.name)
            schedule = await session.get(SourceSchedule, connection_id)
            cursor = schedule.cursor if schedule else None
            since = schedule.last_run_at if schedule else None
            profile_row = await ProfileRepository(session).for_user(connection.user_id)
            profile, weights = matching_profile(profile_row), weights_of(profile_row)
            connector = await connection_service.connector_for(
                session, context=self.context, connection_id=connection_id
            )
            user_id = connection.user_id
        started = utcnow()
        last_cursor = cursor
        originals = _BandIndex()
        batches: asyncio.Queue[_Batch | Exception | None] = asyncio.Queue(maxsize=1)
        async with connector.client:
            reader = asyncio.create_task(
                self._read(
                    connector,
                    batches,
                    cursor=cursor,
                    since=since,
                    profile=profile,
                    new_batch=partial(
                        _Batch,
                        Scorer(profile, weights),
                        user_id=user_id,
                        connection_id=connection_id,
                    ),
                )
            )
            try:
                while (batch := await batches.get()) is not _END:
                    if isinstance(batch, IntegrationError):
                        report.error = batch.detail
                        logger.warning(
                            "scan failed", integration=report.integration, error=batch.detail
                        )
                        break
                    if isinstance(batch, Exception):
                        raise batch
                    async with unit_of_work(database) as session:
                        await self._store(
                            session,
                            batch,
                            report=report,
                            originals=originals,
                            scan_started=started,
                        )
                    last_cursor = batch.cursor or last_cursor
                    if progress and (advanced := progress(report.seen)) is not None:
                        await advanced
            finally:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader
        if not isinstance(connector, Marketplace):
            # A feed's cursor is a resume point in the feed itself (an IMAP UID): it holds
            # across scans, and the next one reads what came after.
            await self._finish(connection_id, report, cursor=last_cursor, since=started)
        elif report.error is not None or report.seen >= self.max_postings:
            # Stopped early: resume this same search (same `since`) where it stopped.
            await self._finish(connection_id, report, cursor=last_cursor, since=since)
        else:
            # A search's cursor is a position in that search's results, which mean nothing
            # once its `since` moves. Read to the end, the next scan starts from the top. After
            # a resumed search `since` stays: what was posted while it was stopped went in
            # ahead of its position (results are newest first), so only reading from the top
            # again finds it.
            await self._finish(
                connection_id, report, cursor=None, since=started if cursor is None else since
            )
        return report

    async def _read(
        self,
        connector: Any,
        batches: asyncio.Queue[_Batch | Exception | None],
        *,
        cursor: str | None,
        since: Any,
        profile: MatchingProfile,
        new_batch: Callable[[], _Batch],
    ) -> None:
        """Fill batches from the source; a failure goes down the queue after the good batches,
        and a batch cut short by it is dropped, so the cursor never skips what was not stored."""
        batch = new_batch()
        try:
            async for posting in self._postings(
                connector, cursor=cursor, since=since, profile=profile
            ):
                batch.add(posting)
                if batch.size >= self.batch_size:
                    await batches.put(batch)
                    batch = new_batch()
                elif batch.size % _YIELD_EVERY == 0:
                    # The writer may be waiting on a database answer that has arrived.
                    await asyncio.sleep(0)
        except Exception as exc:  # handed to the writer, which reports or re-raises it
            await batches.put(exc)
            return
        if batch.size:
            await batches.put(batch)
        await batches.put(_END)

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
        prepared = _Batch(Scorer(profile, weights), user_id=user_id, connection_id=connection_id)
        for posting in batch:
            prepared.add(posting)
        return await self._store(
            session,
            prepared,
            report=report,
            originals=_BandIndex(),
            scan_started=None,
        )

    async def _store(
        self,
        session: AsyncSession,
        batch: _Batch,
        *,
        report: ScanReport,
        originals: _BandIndex,
        scan_started: datetime | None,
    ) -> list[tuple[uuid.UUID, str, str]]:
        """Updates listings already stored and inserts the rest, each new one linked to the
        original it nearly duplicates, if any. `originals` holds the originals stored earlier
        in this scan (started at `scan_started`), which the database query then leaves out."""
        user_id, connection_id = batch.user_id, batch.connection_id
        report.skipped += len(batch.skipped_reasons)
        report.skipped_reasons.extend(batch.skipped_reasons)
        repository = OpportunityRepository(session)
        by_platform: dict[str, list[_Scored]] = {}
        for (platform, _external_id), scored in batch.items.items():
            by_platform.setdefault(platform, []).append(scored)
        fresh: list[_Scored] = []
        for platform, items in by_platform.items():
            existing = await repository.existing(
                user_id, platform, [scored.row["external_id"] for scored in items]
            )
            for scored in items:
                stored = existing.get(scored.row["external_id"])
                if stored is None:
                    fresh.append(scored)
                    continue
                _apply(stored, scored.row)
                report.updated += 1
        if not fresh:
            return []
        earlier = _BandIndex()
        scan = (connection_id, scan_started) if connection_id and scan_started else None
        for candidate_id, _platform, signed in await repository.band_candidates(
            user_id, [bands(scored.fingerprint) for scored in fresh], excluding_scan=scan
        ):
            earlier.add(candidate_id, fingerprint_unsigned(signed))
        rows: list[dict[str, Any]] = []
        created: list[tuple[uuid.UUID, str, str]] = []
        for fingerprint, row in fresh:
            original = earlier.near(fingerprint)
            if original is None:
                original = originals.near(fingerprint)
            opportunity_id = uuid.uuid4()
            row["id"], row["duplicate_of_id"] = opportunity_id, original
            rows.append(row)
            if original is None:
                originals.add(opportunity_id, fingerprint)
                created.append((opportunity_id, row["title"], row["platform"]))
                report.found += 1
            else:
                report.duplicates += 1
        # Core, not the ORM: the rows are complete, and the unit of work would only add cost.
        try:
            async with session.begin_nested():
                await session.execute(insert(_OPPORTUNITIES), rows)
        except IntegrityError:
            # Another scan of this user's listings (a second source for the same platform, a
            # "Scan now" beside the scheduled one, another worker) stored some of them since
            # the lookup above. Those rows are theirs, with their events; this scan stores
            # the rest.
            inserted = await repository.insert_missing(rows)
            lost = {row["id"] for row in rows} - inserted
            lost_originals = sum(1 for entry in created if entry[0] in lost)
            report.found -= lost_originals
            report.duplicates -= len(lost) - lost_originals
            report.updated += len(lost)
            created = [entry for entry in created if entry[0] not in lost]
        # Each new listing's event commits with it, or not at all.
        await publish_many(
            session,
            [
                (OpportunityFound(opportunity_id=id_, platform=platform, title=title), user_id)
                for id_, title, platform in created
            ],
        )
        return created

    async def _finish(
        self,
        connection_id: uuid.UUID,
        report: ScanReport,
        *,
        cursor: str | None,
        since: datetime | None,
    ) -> None:
        """Record the run; the next scan reads from `since` onwards, resuming at `cursor`."""
        async with unit_of_work(self.context.database) as session:
            schedule = await session.get(SourceSchedule, connection_id)
            connection = await connection_service.find(session, connection_id)
            if connection is None:
                return
            if schedule is None:
                schedule = SourceSchedule(connection_id=connection_id, user_id=connection.user_id)
                session.add(schedule)
            spec = self.context.spec_for(connection.integration)
            interval = scan_interval(spec)
            schedule.interval_seconds = int(interval.total_seconds())
            schedule.cursor = cursor
            schedule.last_run_at = since
            schedule.last_found = report.found
            schedule.last_error = report.error[:500] if report.error else None
            schedule.next_run_at = utcnow() + interval
            schedule.claimed_until = None


class _BandIndex:
    """Originals by each 16-bit band of their fingerprint. Two fingerprints within
    NEAR_DUPLICATE_DISTANCE bits share at least one band, so only a band's bucket needs the
    exact comparison, and a batch costs about one lookup per posting instead of one per pair.

    A scan keeps one for everything it stores, so it holds nothing the garbage collector has
    to walk: a bucket is its fingerprints packed into bytes, and ids are 128-bit integers.
    """

    def __init__(self) -> None:
        self._buckets: tuple[dict[int, bytes], ...] = ({}, {}, {}, {})
        self._ids: dict[int, int] = {}

    def add(self, opportunity_id: uuid.UUID, fingerprint: int) -> None:
        """The first original with a fingerprint is the one its near-duplicates point to."""
        if fingerprint in self._ids:
            return
        self._ids[fingerprint] = opportunity_id.int
        packed = _FINGERPRINT.pack(fingerprint)
        for bucket, band in zip(self._buckets, bands(fingerprint), strict=True):
            bucket[band] = bucket.get(band, b"") + packed

    def near(self, fingerprint: int) -> uuid.UUID | None:
        for bucket, band in zip(self._buckets, bands(fingerprint), strict=True):
            for (other,) in _FINGERPRINT.iter_unpack(bucket.get(band, b"")):
                if hamming(fingerprint, other) <= NEAR_DUPLICATE_DISTANCE:
                    return uuid.UUID(int=self._ids[other])
        return None


# What a listing seen again updates; where, when and as what it was first found stays.
_RESCANNED = (
    "title",
    "description",
    "description_text",
    "skills_text",
    "budget_kind",
    "budget_min_minor",
    "budget_max_minor",
    "currency",
    "proposals_count",
    "deadline",
    "complexity_score",
    "success_probability",
    "estimated_hours",
    "fit_score",
)


def _apply(stored: Opportunity, row: dict[str, Any]) -> None:
    for name in _RESCANNED:
        setattr(stored, name, row[name])
    stored.skills = list(row["skills"])
    stored.factors = list(row["factors"])
    stored.features = dict(row["features"])


def _skills_text(skills: Sequence[str]) -> str:
    return "|" + "|".join(skills) + "|" if skills else ""


def _row(
    item: NormalizedPosting,
    analysis: Analysis,
    *,
    user_id: uuid.UUID,
    connection_id: uuid.UUID | None,
    fingerprint: int,
    now: datetime,
) -> dict[str, Any]:
    band = bands(fingerprint)
    client = item.client
    return {
        "user_id": user_id,
        "connection_id": connection_id,
        "platform": item.platform,
        "external_id": item.external_id,
        "url": item.url,
        "title": item.title,
        "description": item.description,
        "description_text": item.description_text,
        "skills": item.skills,
        "skills_text": _skills_text(item.skills),
        "category": item.category,
        "budget_kind": item.budget_kind,
        "budget_min_minor": item.budget_min_minor,
        "budget_max_minor": item.budget_max_minor,
        "currency": item.currency,
        "posted_at": item.posted_at,
        "deadline": item.deadline,
        "client": {
            name: value for name in _CLIENT_FIELDS if (value := getattr(client, name)) is not None
        },
        "proposals_count": item.proposals_count,
        "attribution": asdict(item.attribution) if item.attribution else None,
        "raw": dict(item.raw),
        "fingerprint": fingerprint_signed(fingerprint),
        "band0": band[0],
        "band1": band[1],
        "band2": band[2],
        "band3": band[3],
        "complexity_score": analysis.complexity_score,
        "success_probability": analysis.success_probability,
        "estimated_hours": analysis.estimated_hours,
        "fit_score": analysis.fit_score,
        "factors": analysis.factors,
        "features": analysis.features,
        "first_seen_at": now,
        "updated_at": now,
    }


async def sources_of(
    session: AsyncSession, context: IntegrationContext, user_id: uuid.UUID, slug: str | None
) -> list[ConnectionRef]:
    """The user's active connections that can be scanned, optionally of one integration."""
    found = await connection_service.sources(
        session, user_id, SCANNED_CAPABILITIES, context=context
    )
    return [c for c in found if c.active and (slug is None or c.integration == slug)]
