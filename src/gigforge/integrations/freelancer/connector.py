"""The Freelancer.com marketplace: project search and user-approved bids.

Freelancer accepts no idempotency key on `POST /projects/0.1/bids/`, so the transport never
retries a bid, and a bid that reached Freelancer before a crash cannot be recognised by key.
Instead `submit_proposal` first lists this user's bids on the project and returns one that is
already there; callers still de-duplicate through reconciliation against that listing, which
is the only record Freelancer keeps.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel

from gigforge.integrations.framework.capabilities import (
    JobPosting,
    JobQuery,
    Marketplace,
    ProposalSubmission,
    SubmissionResult,
)
from gigforge.integrations.framework.errors import IntegrationError, Permanent
from gigforge.integrations.framework.feeds import MalformedItem, skipped
from gigforge.integrations.freelancer.mapping import (
    ALREADY_BID,
    as_mapping,
    bid_body,
    error_from_excerpt,
    live_bid,
    matches,
    search_params,
    to_posting,
    to_submission,
    unwrap,
)
from gigforge.integrations.freelancer.spec import SPEC, FreelancerConfig

SUBMITTED = "submitted"
ALREADY_SUBMITTED = "already_submitted"


class FreelancerConnector(Marketplace):
    spec = SPEC
    # Freelancer caps `limit` on its list endpoints; 100 is the most one page returns.
    page_size: ClassVar[int] = 100
    config: FreelancerConfig

    def __init__(self, client: httpx.AsyncClient, config: BaseModel) -> None:
        if not isinstance(config, FreelancerConfig):
            raise TypeError(f"{SPEC.title} needs a FreelancerConfig, not {type(config)!r}")
        super().__init__(client, config)
        self._user: Mapping[str, Any] | None = None

    async def test(self) -> dict[str, Any]:
        user = await self._self()
        return {"user_id": user["id"], "username": user.get("username")}

    async def search(self, query: JobQuery) -> AsyncIterator[JobPosting]:
        """Offset paging over `GET /projects/0.1/projects/active/`, newest update first. Each
        posting's cursor is the offset just after it, so a later search resumes there.

        The next page is requested before this one is handed out, so Freelancer prepares it
        while the caller works through this one. It asks for no more than the limit would allow
        if every listing here matched; when the filters leave the page short of that near the
        limit, the rest is asked for afterwards. A search stopped early cancels the request.
        """
        offset = _offset(query.cursor)
        found = 0
        size = min(self.page_size, query.limit)
        next_page: asyncio.Task[Any] | None = self._page(query, offset=offset, size=size)
        try:
            while next_page is not None:
                result = as_mapping(await next_page)
                next_page = None
                projects = [p for p in result.get("projects") or () if isinstance(p, Mapping)]
                users = result.get("users")
                total = result.get("total_count")
                page_end = offset + len(projects)
                last = len(projects) < size or (isinstance(total, int) and page_end >= total)
                room = query.limit - found - len(projects)
                if not last and room > 0:
                    size = min(self.page_size, room)
                    next_page = self._page(query, offset=page_end, size=size)
                    # Let the request go out before the caller's work on this page begins.
                    await asyncio.sleep(0)
                for index, raw in enumerate(projects):
                    try:
                        posting = to_posting(
                            raw,
                            users=users if isinstance(users, Mapping) else None,
                            cursor=str(offset + index + 1),
                        )
                    except (MalformedItem, TypeError, ValueError) as exc:
                        skipped(SPEC, offset + index, str(exc))
                        continue
                    if not matches(posting, query):
                        continue
                    yield posting
                    found += 1
                    if found >= query.limit:
                        return
                offset = page_end
                if not last and next_page is None:
                    size = min(self.page_size, query.limit - found)
                    next_page = self._page(query, offset=offset, size=size)
        finally:
            if next_page is not None:
                await _discard(next_page)

    def _page(self, query: JobQuery, *, offset: int, size: int) -> asyncio.Task[Any]:
        return asyncio.create_task(
            self._call(
                "GET",
                "/projects/0.1/projects/active/",
                params=search_params(query, offset=offset, limit=size),
            )
        )

    async def submit_proposal(self, proposal: ProposalSubmission) -> SubmissionResult:
        """Places the bid unless this user already has a live bid on the project, in which case
        that bid is returned as `already_submitted`. The amount must be in the project's
        currency: Freelancer reads `amount` in it and converts nothing."""
        project_id = _project_id(proposal.external_job_id)
        if proposal.period_days is None:
            raise self._refused("Freelancer.com needs a delivery period in days for every bid")
        bidder_id = int((await self._self())["id"])
        existing = await self._existing_bid(project_id, bidder_id)
        if existing is not None:
            return to_submission(existing, status=ALREADY_SUBMITTED)
        project = as_mapping(await self._call("GET", f"/projects/0.1/projects/{project_id}/"))
        currency = str(as_mapping(project.get("currency")).get("code") or "").upper()
        if currency != proposal.currency.upper():
            raise self._refused(
                f"the bid is in {proposal.currency.upper()} but project {project_id} is "
                f"priced in {currency or 'an unknown currency'}"
            )
        body = bid_body(
            proposal,
            project_id=project_id,
            bidder_id=bidder_id,
            milestone_percentage=self.config.milestone_percentage,
        )
        try:
            bid = await self._call("POST", "/projects/0.1/bids/", json=body)
        except Permanent as exc:
            # Someone placed the bid between our check and our post: report theirs.
            if exc.extensions.get("error_code") == ALREADY_BID:
                existing = await self._existing_bid(project_id, bidder_id)
                if existing is not None:
                    return to_submission(existing, status=ALREADY_SUBMITTED)
            raise
        return to_submission(bid, status=SUBMITTED)

    async def _self(self) -> Mapping[str, Any]:
        """`GET /users/0.1/self/`, once per connector: the user id is the `bidder_id`."""
        if self._user is None:
            user = await self._call("GET", "/users/0.1/self/")
            if not isinstance(user, Mapping) or user.get("id") is None:
                raise self._refused("users/self answered without a user id")
            self._user = user
        return self._user

    async def _existing_bid(self, project_id: int, bidder_id: int) -> Mapping[str, Any] | None:
        result = await self._call(
            "GET",
            "/projects/0.1/bids/",
            params=[("projects[]", str(project_id)), ("bidders[]", str(bidder_id))],
        )
        return live_bid(as_mapping(result).get("bids"))

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One API call through the policy layer; the envelope's `result`, or the framework
        error carrying Freelancer's own message and error code."""
        try:
            response = await self.client.request(method, path, **kwargs)
        except Permanent as exc:
            raise error_from_excerpt(
                exc.extensions.get("body"), status=exc.upstream_status
            ) from exc
        return unwrap(await response.aread(), status=response.status_code)

    def _refused(self, why: str) -> Permanent:
        return Permanent(f"{SPEC.title}: {why}", integration=SPEC.slug)


async def _discard(page: asyncio.Task[Any]) -> None:
    """A prefetched page nobody will read: cancelled if still on its way, its outcome dropped."""
    page.cancel()
    with contextlib.suppress(asyncio.CancelledError, IntegrationError):
        await page


def _offset(cursor: str | None) -> int:
    if cursor is None:
        return 0
    if not cursor.isdigit():
        raise Permanent(f"{SPEC.title}: cursor {cursor!r} is not an offset", integration=SPEC.slug)
    return int(cursor)


def _project_id(external_job_id: str) -> int:
    if not external_job_id.isdigit():
        raise Permanent(
            f"{SPEC.title}: {external_job_id!r} is not a Freelancer project id",
            integration=SPEC.slug,
        )
    return int(external_job_id)
