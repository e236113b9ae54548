"""Upwork as a Gigforge marketplace: job search, offers and message rooms read over GraphQL;
proposals, accepting offers and sending messages by hand-off."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx
import structlog
from pydantic import BaseModel

from gigforge.integrations.framework.capabilities import (
    Award,
    ClientMessage,
    ClientMessaging,
    JobPosting,
    JobQuery,
    Marketplace,
    MessageThread,
    OutgoingMessage,
    ProposalSubmission,
    SentMessage,
    SubmissionResult,
    Winning,
)
from gigforge.integrations.framework.errors import Permanent, Transient
from gigforge.integrations.framework.spec import IntegrationSpec
from gigforge.integrations.framework.transport import SAFE_TO_REPLAY
from gigforge.integrations.upwork.mapping import graphql_error, to_posting
from gigforge.integrations.upwork.queries import (
    CURRENT_USER,
    SEARCH_JOB_POSTINGS,
    search_variables,
)
from gigforge.integrations.upwork.spec import GRAPHQL_PATH, SPEC, TENANT_HEADER, UpworkConfig
from gigforge.integrations.upwork.winning import (
    OFFERS,
    OFFERS_PAGE_SIZE,
    ORGANIZATION,
    ROOMS,
    ROOMS_PAGE_SIZE,
    STORIES,
    STORIES_PAGE_SIZE,
    offers_filter,
    read_states_cursor,
    states_cursor,
    to_award,
    to_message,
    to_thread,
)
from gigforge.kit.clock import utcnow

logger = structlog.get_logger("gigforge.integrations")


class UpworkConnector(Marketplace, Winning, ClientMessaging):
    spec: ClassVar[IntegrationSpec] = SPEC
    config: UpworkConfig

    def __init__(self, client: httpx.AsyncClient, config: BaseModel) -> None:
        super().__init__(client, UpworkConfig.model_validate(config, from_attributes=True))
        self._user_id: str | None = None

    async def test(self) -> dict[str, Any]:
        data = await self._execute(CURRENT_USER, {})
        user = data.get("user") or {}
        if not user.get("id"):
            raise Permanent("Upwork answered the user query without a user", integration=SPEC.slug)
        return {"id": user["id"], "name": user.get("name"), "nid": user.get("nid")}

    async def search(self, query: JobQuery) -> AsyncIterator[JobPosting]:
        """Postings newest first, page by page, until `query.limit` or the results run out.

        Each posting carries its edge's cursor, so a scan that stops early resumes after the
        last posting it kept by passing that cursor as `JobQuery.cursor` (without edge cursors,
        the cursor its page started from: a resume then repeats postings rather than skips
        them). Because results are ordered by recency, the first posting older than
        `posted_after` ends the scan. A node without the fields a posting needs is logged and
        skipped so one odd listing does not stop the scan.
        """
        after, kept = query.cursor, 0
        now = utcnow()
        while True:
            data = await self._execute(
                SEARCH_JOB_POSTINGS, search_variables(query, after=after, now=now)
            )
            connection = data.get("marketplaceJobPostingsSearch") or {}
            page_info = connection.get("pageInfo") or {}
            for edge in connection.get("edges") or ():
                node = (edge or {}).get("node")
                if not node:
                    continue
                try:
                    posting = to_posting(node, cursor=edge.get("cursor") or after)
                except ValueError as exc:
                    logger.warning("upwork.posting_skipped", reason=str(exc))
                    continue
                if (
                    query.posted_after
                    and posting.posted_at
                    and (posting.posted_at < query.posted_after)
                ):
                    return
                yield posting
                kept += 1
                if kept >= query.limit:
                    return
            after = page_info.get("endCursor")
            if not page_info.get("hasNextPage") or not after:
                return

    async def submit_proposal(self, proposal: ProposalSubmission) -> SubmissionResult:
        raise self.not_supported(
            "submit_proposal",
            "Upwork's public GraphQL API documents no mutation that submits a freelancer's "
            "proposal (that right is reserved to approved partners), and its terms forbid "
            "automating it any other way; the user sends the approved text from the job "
            "page through the hand-off link",
        )

    async def awards(self, since_cursor: str | None = None) -> tuple[list[Award], str | None]:
        """The freelancer's offers, those whose state changed since the cursor. An offer the
        client sent is `awarded`; the user accepts it on upwork.com (see `accept_award`)."""
        organization = await self._organization_id()
        reported = read_states_cursor(since_cursor)
        states = dict(reported)
        changed: list[Award] = []
        page = 1
        while True:
            data = await self._execute(OFFERS, {"filter": offers_filter(organization, page)})
            offers = [o for o in (data.get("offersByAttribute") or {}).get("offers") or () if o]
            for offer in offers:
                award = to_award(offer)
                if award is None:
                    logger.warning(
                        "upwork.offer_skipped", offer=offer.get("id"), state=offer.get("state")
                    )
                    continue
                states[award.external_bid_id] = award.status
                if reported.get(award.external_bid_id) != award.status:
                    changed.append(award)
            if len(offers) < OFFERS_PAGE_SIZE:
                break
            page += 1
        return changed, states_cursor(states) if states else since_cursor

    async def accept_award(self, external_bid_id: str) -> Award:
        raise self.not_supported(
            "accept_award",
            "Upwork's GraphQL API documents no mutation that lets a freelancer's app accept an "
            "offer; the user accepts it on upwork.com from the award's link",
        )

    async def threads(self, *, external_project_id: str | None = None) -> list[MessageThread]:
        """Rooms the user is subscribed to, newest first; a project's rooms are those opened
        from the user's proposal to that job posting."""
        found: list[MessageThread] = []
        after: str | None = None
        while True:
            pagination: dict[str, Any] = {"first": ROOMS_PAGE_SIZE}
            if after:
                pagination["after"] = after
            data = await self._execute(ROOMS, {"pagination": pagination})
            connection = data.get("roomList") or {}
            found += [
                to_thread(edge["node"])
                for edge in connection.get("edges") or ()
                if edge and (edge.get("node") or {}).get("id")
            ]
            page_info = connection.get("pageInfo") or {}
            after = page_info.get("endCursor")
            if not page_info.get("hasNextPage") or not after:
                break
        if external_project_id is not None:
            found = [t for t in found if t.external_project_id == external_project_id]
        return found

    async def messages(
        self, thread_id: str, *, since: datetime | None = None
    ) -> list[ClientMessage]:
        if self._user_id is None:
            self._user_id = str((await self.test())["id"])
        me = self._user_id
        found: list[ClientMessage] = []
        after: str | None = None
        while True:
            # Upwork refuses `after` on a room's first page of stories.
            pagination: dict[str, Any] = {"first": STORIES_PAGE_SIZE}
            if after:
                pagination["after"] = after
            data = await self._execute(
                STORIES, {"roomId": thread_id, "storyFilter": {"pagination": pagination}}
            )
            stories = (data.get("room") or {}).get("stories") or {}
            found += [
                to_message(edge["node"], room_id=thread_id, me=me)
                for edge in stories.get("edges") or ()
                if edge and (edge.get("node") or {}).get("id")
            ]
            page_info = stories.get("pageInfo") or {}
            after = page_info.get("endCursor")
            if not page_info.get("hasNextPage") or not after:
                break
        if since is not None:
            found = [m for m in found if m.sent_at is None or m.sent_at > since]
        epoch = datetime.min.replace(tzinfo=UTC)
        return sorted(found, key=lambda message: (message.sent_at or epoch, message.message_id))

    async def send_message(self, message: OutgoingMessage) -> SentMessage:
        raise self.not_supported(
            "send_message",
            "this connection reads Upwork with read-only permissions and sends no GraphQL "
            "mutations; the user pastes the approved message in the Upwork room",
        )

    async def _organization_id(self) -> str:
        if self.config.tenant_id:
            return self.config.tenant_id
        organization = (await self._execute(ORGANIZATION, {})).get("organization") or {}
        if not organization.get("id"):
            raise Permanent(
                "Upwork answered without the user's organization", integration=SPEC.slug
            )
        return str(organization["id"])

    async def _execute(self, document: str, variables: dict[str, Any]) -> dict[str, Any]:
        """POST one operation to /graphql and return its `data`, or raise what went wrong.

        The transport has already turned HTTP failures (401 after a refresh, 429, 5xx, other
        4xx) into framework errors; what is left is the 200 whose body says it failed.
        """
        tenant = self.config.tenant_id
        headers = {TENANT_HEADER: tenant} if tenant else {}
        # Every operation this connector sends is a query, so the policy layer may replay it.
        response = await self.client.post(
            GRAPHQL_PATH,
            json={"query": document, "variables": variables},
            headers=headers,
            extensions={SAFE_TO_REPLAY: True},
        )
        try:
            payload = response.json()
        except ValueError:
            raise Transient(
                "Upwork answered the GraphQL endpoint with something other than JSON",
                integration=SPEC.slug,
                status=response.status_code,
            ) from None
        if not isinstance(payload, dict):
            raise Permanent("Upwork answered with an unexpected JSON shape", integration=SPEC.slug)
        error = graphql_error(payload, retry_after=_retry_after(response))
        if error is not None:
            raise error
        data = payload.get("data")
        if not isinstance(data, dict):
            raise Permanent("Upwork answered without data or errors", integration=SPEC.slug)
        return data


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers[SPEC.rate_limit_headers.retry_after])
    except (KeyError, ValueError):
        return None
