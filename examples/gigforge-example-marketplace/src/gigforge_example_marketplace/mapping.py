from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gigforge.integrations.framework import Budget, BudgetKind, JobPosting


def to_posting(raw: dict[str, Any]) -> JobPosting:
    budget = raw.get("budget") or {}
    return JobPosting(
        platform="example-gigs",
        external_id=str(raw["id"]),
        url=f"https://example-gigs.test/jobs/{raw['id']}",
        title=str(raw["title"]),
        description=str(raw.get("description") or ""),
        skills=tuple(str(tag) for tag in raw.get("tags") or ()),
        budget=Budget(
            kind=BudgetKind(budget.get("type", "fixed")),
            currency=str(budget.get("currency", "USD")),
            min_minor=budget.get("min_cents"),
            max_minor=budget.get("max_cents"),
        )
        if budget
        else None,
        posted_at=datetime.fromtimestamp(int(raw["created"]), tz=UTC)
        if raw.get("created")
        else None,
        raw=raw,
    )
