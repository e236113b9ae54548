"""Listings handed in rather than fetched: signed webhooks from automation services, and
jobs the user pastes (a URL and/or the text).

Fiverr, Guru, PeoplePerHour, Toptal and Kwork have no API for finding work; besides their alert
emails (the `imap_alerts` integration), a user can forward alerts through an automation
service to `POST /api/v1/inbound/{source}`, or paste a job. Gigforge does not fetch job pages.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Header, Request, status
from pydantic import Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.accounts.auth import RequireScope
from gigforge.accounts.errors import InsufficientScope, InvalidToken
from gigforge.accounts.principal import Principal
from gigforge.accounts.scopes import Scope
from gigforge.connections.context import IntegrationContext
from gigforge.connections.endpoints import ContextDep
from gigforge.connections.vault import vault
from gigforge.integrations.framework import Budget, BudgetKind, JobPosting
from gigforge.kit.clock import utcnow
from gigforge.kit.deps import SessionDep
from gigforge.kit.errors import BadRequest, Conflict, NotFound, Unauthorized, ValidationFailed
from gigforge.kit.money import major_to_minor
from gigforge.kit.problems import problem_responses
from gigforge.kit.schemas import InputSchema, OutputSchema
from gigforge.opportunities.inbound_endpoints import SIGNATURE_HELP, inbound_endpoints
from gigforge.opportunities.models import InboundEndpoint, Opportunity
from gigforge.opportunities.repository import (
    OpportunityRepository,
    ProfileRepository,
    SeenSignatureRepository,
)
from gigforge.opportunities.scanning import Scanner, ScanReport
from gigforge.opportunities.schemas import ImportBody, OpportunityRead
from gigforge.opportunities.service import matching_profile, to_read, weights_of

SIGNATURE_TOLERANCE_SECONDS = 300
MAX_ITEMS = 100
SOURCE_PATTERN = r"^[a-z][a-z0-9_-]{1,39}$"

KNOWN_HOSTS = {
    "upwork.com": "upwork",
    "freelancer.com": "freelancer",
    "fiverr.com": "fiverr",
    "guru.com": "guru",
    "peopleperhour.com": "peopleperhour",
    "toptal.com": "toptal",
    "kwork.ru": "kwork",
    "freelance.ru": "freelanceru",
}
_ID_IN_PATH = re.compile(r"(~[0-9a-z]+|\d{4,})", re.IGNORECASE)

router = APIRouter(tags=["inbound"])
Writer = Annotated[Principal, RequireScope(Scope.jobs_write)]
_AUTHENTICATED = (Unauthorized, InvalidToken, InsufficientScope)


class BadSignature(Unauthorized):
    code = "bad-signature"
    title = "The request's signature is missing, wrong or too old"


class InboundEndpointCreate(InputSchema):
    source: Annotated[str, StringConstraints(pattern=SOURCE_PATTERN)]


class InboundEndpointRead(OutputSchema):
    id: uuid.UUID
    source: str
    created_at: datetime
    last_used_at: datetime | None


class InboundEndpointCreated(InboundEndpointRead):
    url: str
    secret: str = Field(description="Shown only here: signs requests (see `signature`)")
    signature: str = Field(description="How to sign a request")


class InboundItem(InputSchema):
    url: Annotated[str, StringConstraints(max_length=1000)]
    title: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    external_id: Annotated[str, StringConstraints(max_length=200)] | None = None
    description: Annotated[str, StringConstraints(max_length=50_000)] = ""
    skills: list[Annotated[str, StringConstraints(max_length=60)]] = Field(
        default_factory=list, max_length=50
    )
    category: Annotated[str, StringConstraints(max_length=200)] | None = None
    budget_kind: BudgetKind | None = None
    budget_min: Decimal | None = Field(default=None, ge=0)
    budget_max: Decimal | None = Field(default=None, ge=0)
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$")] | None = None
    posted_at: datetime | None = None


class InboundResult(OutputSchema):
    found: int
    updated: int
    duplicates: int
    skipped: int


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """`X-Gigforge-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify(secret: str, header: str | None, body: bytes, *, now: float | None = None) -> int:
    """Check the signature header against the raw body; returns the signed timestamp.
    Whatever the header holds (any characters, any length) is a 401, never an error."""
    if not header:
        raise BadSignature("Send X-Gigforge-Signature: t=<unix>,v1=<hmac>")
    parts = dict(part.strip().split("=", 1) for part in header.split(",") if "=" in part)
    raw_timestamp = parts.get("t", "")
    # Unix seconds in ASCII digits; more digits than any time near now would never verify.
    if not (raw_timestamp.isascii() and raw_timestamp.isdigit() and len(raw_timestamp) <= 12):
        raise BadSignature("The signature has no valid timestamp")
    timestamp = int(raw_timestamp)
    if abs((now if now is not None else time.time()) - timestamp) > SIGNATURE_TOLERANCE_SECONDS:
        raise BadSignature("The signature's timestamp is more than 5 minutes away")
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    # Bytes, not str: compare_digest refuses a str with non-ASCII characters.
    if not hmac.compare_digest(expected.encode(), parts.get("v1", "").encode("utf-8", "replace")):
        raise BadSignature()
    return timestamp


class InboundReplayed(Conflict):
    code = "inbound-replay"
    title = "This signed request was already received"


async def _refuse_replay(
    session: AsyncSession, endpoint: InboundEndpoint, signature: str, timestamp: int
) -> None:
    """The same signed request again, while its signature still verifies, is a replay: a
    sender sends new content (or the same content at a new time) with a new signature."""
    usable_until = datetime.fromtimestamp(timestamp + SIGNATURE_TOLERANCE_SECONDS, UTC)
    digest = signature.split("v1=", 1)[1]
    if not await SeenSignatureRepository(session).first_use(
        endpoint.id, digest, expires_at=usable_until, now=utcnow()
    ):
        raise InboundReplayed(
            "A request with this exact signature was already received; sign each delivery "
            "with its own timestamp"
        )


def _posting(source: str, item: InboundItem) -> JobPosting:
    budget = None
    if item.budget_min is not None or item.budget_max is not None:
        currency = (item.currency or "USD").upper()
        try:
            budget = Budget(
                kind=item.budget_kind or BudgetKind.fixed,
                currency=currency,
                min_minor=major_to_minor(item.budget_min, currency) if item.budget_min else None,
                max_minor=major_to_minor(item.budget_max, currency) if item.budget_max else None,
            )
        except (ValueError, InvalidOperation):
            budget = None
    return JobPosting(
        platform=source,
        external_id=item.external_id or hashlib.sha256(item.url.encode()).hexdigest()[:32],
        url=item.url,
        title=item.title,
        description=item.description,
        skills=tuple(item.skills),
        category=item.category,
        budget=budget,
        posted_at=item.posted_at or utcnow(),
        raw={"via": "inbound", "source": source},
    )


async def _store(
    session: AsyncSession,
    context: IntegrationContext,
    user_id: uuid.UUID,
    postings: Sequence[JobPosting],
) -> ScanReport:
    profile_row = await ProfileRepository(session).for_user(user_id)
    report = ScanReport(connection_id=uuid.uuid4(), integration="inbound", name="inbound")
    await Scanner(context).store(
        session,
        postings,
        user_id=user_id,
        connection_id=None,
        profile=matching_profile(profile_row),
        weights=weights_of(profile_row),
        report=report,
    )
    return report


@router.post(
    "/inbound-endpoints",
    response_model=InboundEndpointCreated,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(*_AUTHENTICATED),
)
async def create_inbound_endpoint(
    body: InboundEndpointCreate,
    session: SessionDep,
    context: ContextDep,
    principal: Writer,
) -> InboundEndpointCreated:
    """A URL and secret for an automation service to post listings to."""
    issued = await inbound_endpoints.create(
        session,
        principal,
        keyring=context.keyring,
        public_url=context.settings.public_url,
        source=body.source,
    )
    return InboundEndpointCreated(
        id=issued.endpoint.id,
        source=issued.endpoint.source,
        created_at=issued.endpoint.created_at,
        last_used_at=None,
        url=issued.url,
        secret=issued.secret,
        signature=SIGNATURE_HELP,
    )


@router.post(
    "/inbound/{source}",
    response_model=InboundResult,
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(
        BadSignature, InboundReplayed, BadRequest, NotFound, ValidationFailed
    ),
)
async def receive_inbound(
    source: str,
    request: Request,
    session: SessionDep,
    context: ContextDep,
    key_id: Annotated[uuid.UUID, Header(alias="X-Gigforge-Key-Id")],
    signature: Annotated[str | None, Header(alias="X-Gigforge-Signature")] = None,
) -> InboundResult:
    """One listing (an object) or several (`{"items": [...]}`), signed with the endpoint's
    secret. Listings are deduplicated, scored and stored like scanned ones."""
    endpoint = (
        await session.execute(
            select(InboundEndpoint).where(
                InboundEndpoint.id == key_id, InboundEndpoint.source == source
            )
        )
    ).scalar_one_or_none()
    if endpoint is None:
        raise BadSignature("Unknown key id for this source")
    body = await request.body()
    secret = await vault.get(session, context.keyring, endpoint.secret_id, user_id=endpoint.user_id)
    timestamp = verify(secret.reveal_text(), signature, body)
    await _refuse_replay(session, endpoint, sign(secret.reveal_text(), timestamp, body), timestamp)
    items = _parse_items(body)
    endpoint.last_used_at = utcnow()
    report = await _store(
        session, context, endpoint.user_id, [_posting(source, item) for item in items]
    )
    return InboundResult(
        found=report.found,
        updated=report.updated,
        duplicates=report.duplicates,
        skipped=report.skipped,
    )


def _parse_items(body: bytes) -> list[InboundItem]:
    try:
        payload = json.loads(body)
    except ValueError:
        raise BadRequest("The body is not valid JSON") from None
    except RecursionError:
        raise BadRequest("The body is nested too deeply to be a listing") from None
    raw_items = (
        payload.get("items") if isinstance(payload, dict) and "items" in payload else [payload]
    )
    if not isinstance(raw_items, list) or not 1 <= len(raw_items) <= MAX_ITEMS:
        raise ValidationFailed(f"Send one listing or 1 to {MAX_ITEMS} in `items`")
    items: list[InboundItem] = []
    errors: list[dict[str, Any]] = []
    for index, raw in enumerate(raw_items):
        try:
            items.append(InboundItem.model_validate(raw))
        except ValueError as exc:
            errors.append(
                {"loc": ["body", "items", index], "msg": str(exc)[:300], "type": "value_error"}
            )
    if errors:
        raise ValidationFailed("Some listings are not valid", errors=errors)
    return items


_URL_IN_TEXT = re.compile(r"https?://[^\s<>\"')]+")
# Pasted job text longer than this is refused with a message, never cut without a word.
IMPORT_TEXT_LIMIT = 10_000


class ImportTextTooLong(ValidationFailed):
    code = "import-text-too-long"
    title = "The pasted text is too long"

    def __init__(self, length: int) -> None:
        super().__init__(
            f"The pasted text is {length:,} characters; the limit is {IMPORT_TEXT_LIMIT:,}. "
            "Keep the job's description and leave out the rest of the page.",
            errors=[
                {
                    "loc": ["body", "text"],
                    "msg": f"at most {IMPORT_TEXT_LIMIT} characters",
                    "type": "string_too_long",
                }
            ],
        )


def import_posting(body: ImportBody) -> JobPosting:
    """A pasted job: the platform from the link's host, the id from its path, the text as
    the description. The page itself is not fetched. Every opportunity keeps a link to open,
    so text without a link in it needs `url`."""
    if body.text is not None and len(body.text) > IMPORT_TEXT_LIMIT:
        raise ImportTextTooLong(len(body.text))
    url = body.url or next(iter(_URL_IN_TEXT.findall(body.text or "")), None)
    if not url:
        raise ValidationFailed(
            "Paste the job's link (alone or inside the text) so it can be opened later",
            errors=[{"loc": ["body", "url"], "msg": "a job link is required", "type": "missing"}],
        )
    platform, external_id = "manual", None
    if url:
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValidationFailed(
                "The URL must be an http(s) link",
                errors=[
                    {"loc": ["body", "url"], "msg": "not an http(s) URL", "type": "value_error"}
                ],
            )
        host = parts.hostname.lower().removeprefix("www.")
        platform = next(
            (
                name
                for domain, name in KNOWN_HOSTS.items()
                if host == domain or host.endswith("." + domain)
            ),
            "manual",
        )
        match = _ID_IN_PATH.search(parts.path)
        external_id = match.group(1) if match else None
    text = body.text or ""
    title = body.title or next((line.strip() for line in text.splitlines() if line.strip()), "")
    return JobPosting(
        platform=platform,
        external_id=external_id or hashlib.sha256(url.encode()).hexdigest()[:32],
        url=url,
        title=title[:300] or url,
        description=text,
        posted_at=utcnow(),
        raw={"via": "import"},
    )


@router.post(
    "/jobs/opportunities/import",
    response_model=OpportunityRead,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(*_AUTHENTICATED, ImportTextTooLong, ValidationFailed),
)
async def import_opportunity(
    body: ImportBody, session: SessionDep, context: ContextDep, principal: Writer
) -> OpportunityRead:
    """Add a job you found yourself: paste its link and/or text (up to 10,000 characters)."""
    return to_read(await import_job(session, principal, context=context, body=body))


async def import_job(
    session: AsyncSession, principal: Principal, *, context: IntegrationContext, body: ImportBody
) -> Opportunity:
    """A pasted job stored and scored like a scanned one (the API and the dashboard's form)."""
    posting = import_posting(body)
    await _store(session, context, principal.user_id, [posting])
    rows = await OpportunityRepository(session).existing(
        principal.user_id, posting.platform, [posting.external_id]
    )
    row: Opportunity | None = rows.get(posting.external_id)
    if row is None:
        raise ValidationFailed("The pasted job could not be read")
    return row
