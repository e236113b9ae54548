"""The Freelancer.com marketplace: project search, user-approved bids, awards and messages.

Freelancer accepts no idempotency key on `POST /projects/0.1/bids/`, so the transport never
retries a bid, and a bid that reached Freelancer before a crash cannot be recognised by key.
Instead `submit_proposal` first lists this user's bids on the project and returns one that is
already there; callers still de-duplicate through reconciliation against that listing, which
is the only record Freelancer keeps.

The same holds after the bid. Accepting an award (`PUT /projects/0.1/bids/{id}/?action=accept`)
reads the bid first and returns it unchanged when it is already accepted, and a refused accept
is checked against the bid again, so a retry after a lost answer is harmless. Messages
(`POST /messages/0.1/threads/{id}/messages/`) carry no idempotency key either: `send_message`
lists the thread first and returns the user's own message with the same text and file names
as `already_sent`. A caller that crashed mid-send reconciles the same way, by calling it again
(or listing `messages(thread_id)` and looking for its text).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx
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
from gigforge.integrations.freelancer.winning import (
    ACCEPTABLE,
    AWARD_STATUSES,
    already_sent,
    awards_cursor,
    keyed,
    read_awards_cursor,
    to_award,
    to_message,
    to_thread,
)

SUBMITTED = "submitted"
ALREADY_SUBMITTED = "already_submitted"


class FreelancerConnector(Marketplace, Winning, ClientMessaging):
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

    async def awards(self, since_cursor: str | None = None) -> tuple[list[Award], str | None]:
        """Every bid of this user that the client answered, read from `award_status`; only those
        whose status differs from the one the cursor recorded. Freelancer does not say when a
        status changed, so the cursor is the statuses last reported, bid by bid."""
        me = int((await self._self())["id"])
        reported = read_awards_cursor(since_cursor)
        states = dict(reported)
        changed: list[Award] = []
        offset = 0
        while True:
            params = [
                ("bidders[]", str(me)),
                *(("award_statuses[]", status) for status in AWARD_STATUSES),
                ("project_details", "true"),
                ("user_details", "true"),
                ("limit", str(self.page_size)),
                ("offset", str(offset)),
            ]
            result = as_mapping(await self._call("GET", "/projects/0.1/bids/", params=params))
            bids = [bid for bid in result.get("bids") or () if isinstance(bid, Mapping)]
            projects, users = keyed(result.get("projects")), keyed(result.get("users"))
            for bid in bids:
                award = to_award(bid, projects=projects, users=users)
                if award is None:
                    continue
                states[award.external_bid_id] = award.status
                if reported.get(award.external_bid_id) != award.status:
                    changed.append(award)
            if len(bids) < self.page_size:
                break
            offset += len(bids)
        return changed, awards_cursor(states) if states else since_cursor

    async def accept_award(self, external_bid_id: str) -> Award:
        """Accepts an award the user confirmed. An award already accepted is returned as it is;
        one the client revoked, rejected or cancelled (or no award at all) is refused."""
        bid_id = _numeric(external_bid_id, "bid")
        award = await self._award(bid_id)
        if award.status == "accepted":
            return award
        if award.status not in ACCEPTABLE:
            raise self._refused(f"bid {bid_id} cannot be accepted: its award is {award.status}")
        try:
            await self._call("PUT", f"/projects/0.1/bids/{bid_id}/", params={"action": "accept"})
        except Permanent:
            # An earlier attempt may have gone through before its answer was lost.
            award = await self._award(bid_id)
            if award.status == "accepted":
                return award
            raise
        award = await self._award(bid_id)
        if award.status != "accepted":
            raise self._refused(f"bid {bid_id} is {award.status} after it was accepted")
        return award

    async def threads(self, *, external_project_id: str | None = None) -> list[MessageThread]:
        me = int((await self._self())["id"])
        params: list[tuple[str, str]] = [("user_details", "true"), ("context_details", "true")]
        if external_project_id is not None:
            project_id = _numeric(external_project_id, "project")
            params += [("context_type", "project"), ("contexts[]", str(project_id))]
        found: list[MessageThread] = []
        offset = 0
        while True:
            page = [*params, ("limit", str(self.page_size)), ("offset", str(offset))]
            result = as_mapping(await self._call("GET", "/messages/0.1/threads/", params=page))
            raws = [t for t in result.get("threads") or () if isinstance(t, Mapping)]
            users = keyed(result.get("users"))
            found += [to_thread(raw, me=me, users=users) for raw in raws if "id" in raw]
            if len(raws) < self.page_size:
                break
            offset += len(raws)
        epoch = datetime.min.replace(tzinfo=UTC)
        return sorted(found, key=lambda thread: thread.updated_at or epoch, reverse=True)

    async def messages(
        self, thread_id: str, *, since: datetime | None = None
    ) -> list[ClientMessage]:
        me = int((await self._self())["id"])
        thread = _numeric(thread_id, "thread")
        found: list[ClientMessage] = []
        offset = 0
        while True:
            params = [
                ("threads[]", str(thread)),
                ("limit", str(self.page_size)),
                ("offset", str(offset)),
            ]
            if since is not None:
                # Inclusive and in whole seconds: the exact cut is made below.
                params.append(("from_updated_time", str(int(since.timestamp()))))
            result = as_mapping(await self._call("GET", "/messages/0.1/messages/", params=params))
            raws = [m for m in result.get("messages") or () if isinstance(m, Mapping)]
            found += [to_message(raw, me=me) for raw in raws if "id" in raw]
            if len(raws) < self.page_size:
                break
            offset += len(raws)
        if since is not None:
            found = [m for m in found if m.sent_at is None or m.sent_at > since]
        epoch = datetime.min.replace(tzinfo=UTC)
        return sorted(found, key=lambda message: (message.sent_at or epoch, message.message_id))

    async def send_message(self, message: OutgoingMessage) -> SentMessage:
        """Posts the text and its files as one message (multipart when there are files, as
        Freelancer's SDK uploads them: `attachments[]` names and `files[]` parts). Without a
        thread id, the project's thread is used; Freelancer opens one when the client writes
        or awards, and Gigforge does not open threads on its own."""
        thread_id = message.thread_id or await self._project_thread(message.external_project_id)
        thread = _numeric(thread_id, "thread")
        sent = already_sent(await self.messages(str(thread)), message)
        if sent is not None:
            return SentMessage(
                thread_id=str(thread), message_id=sent.message_id, status="already_sent"
            )
        path = f"/messages/0.1/threads/{thread}/messages/"
        if message.attachments:
            result = await self._call(
                "POST",
                path,
                data={
                    "message": message.text,
                    "attachments[]": [a.name for a in message.attachments],
                },
                files=[("files[]", (a.name, a.content, a.media_type)) for a in message.attachments],
            )
        else:
            result = await self._call("POST", path, data={"message": message.text})
        posted = as_mapping(result)
        if posted.get("id") is None:
            raise self._refused(f"thread {thread} answered the message without its id")
        return SentMessage(
            thread_id=str(thread), message_id=str(posted["id"]), status="sent", raw=posted
        )

    async def _award(self, bid_id: int) -> Award:
        me = int((await self._self())["id"])
        params = [("bids[]", str(bid_id)), ("project_details", "true"), ("user_details", "true")]
        result = as_mapping(await self._call("GET", "/projects/0.1/bids/", params=params))
        bid = next(
            (
                b
                for b in result.get("bids") or ()
                if isinstance(b, Mapping) and b.get("id") == bid_id
            ),
            None,
        )
        if bid is None or bid.get("bidder_id") != me:
            raise self._refused(f"bid {bid_id} is not one of this user's bids")
        award = to_award(
            bid, projects=keyed(result.get("projects")), users=keyed(result.get("users"))
        )
        if award is None:
            raise self._refused(f"bid {bid_id} has not been awarded")
        return award

    async def _project_thread(self, external_project_id: str | None) -> str:
        if external_project_id is None:
            raise self._refused("a message needs a thread id or a project id")
        threads = await self.threads(external_project_id=external_project_id)
        if not threads:
            raise self._refused(f"there is no message thread for project {external_project_id} yet")
        return threads[0].thread_id

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


def _numeric(value: str, what: str) -> int:
    if not value.isdigit():
        raise Permanent(
            f"{SPEC.title}: {value!r} is not a Freelancer {what} id", integration=SPEC.slug
        )
    return int(value)


def _project_id(external_job_id: str) -> int:
    if not external_job_id.isdigit():
        raise Permanent(
            f"{SPEC.title}: {external_job_id!r} is not a Freelancer project id",
            integration=SPEC.slug,
        )
    return int(external_job_id)
