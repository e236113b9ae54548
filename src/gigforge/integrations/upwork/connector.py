"""Upwork as a Gigforge marketplace: job search over GraphQL, proposals by hand-off."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, ClassVar

import httpx
import structlog
from pydantic import BaseModel

from gigforge.integrations.framework.capabilities import (
    JobPosting,
    JobQuery,
    Marketplace,
    ProposalSubmission,
    SubmissionResult,
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
from gigforge.kit.clock import utcnow

logger = structlog.get_logger("gigforge.integrations")


class UpworkConnector(Marketplace):
    spec: ClassVar[IntegrationSpec] = SPEC
    config: UpworkConfig

    def __init__(self, client: httpx.AsyncClient, config: BaseModel) -> None:
        super().__init__(client, UpworkConfig.model_validate(config, from_attributes=True))

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
