from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from gigforge.integrations.framework import JobPosting, JobQuery, Marketplace
from gigforge_example_marketplace.mapping import to_posting
from gigforge_example_marketplace.spec import SPEC


class ExampleGigsConnector(Marketplace):
    spec = SPEC

    async def test(self) -> dict[str, Any]:
        me: dict[str, Any] = (await self.client.get("/me")).json()
        return {"account": me["name"]}

    async def search(self, query: JobQuery) -> AsyncIterator[JobPosting]:
        page, found = int(query.cursor or 1), 0
        while found < query.limit:
            params: dict[str, Any] = {"page": page}
            if query.keywords:
                params["q"] = query.keywords
            body = (await self.client.get("/jobs", params=params)).json()
            for raw in body["jobs"]:
                yield to_posting(raw).model_copy(update={"cursor": str(page)})
                found += 1
            if not body.get("next_page"):
                return
            page = int(body["next_page"])
