"""The typed interfaces domain code depends on, one per kind of integration.

A connector implements the capabilities its spec lists. An operation a provider does not offer
raises `NotSupported` with the reason, never returns empty or made-up data.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

from gigforge.integrations.framework.errors import NotSupported
from gigforge.integrations.framework.spec import IntegrationSpec


class Connector:
    """One instance per stored connection: its own client (with the policy layer) and config."""

    spec: ClassVar[IntegrationSpec]

    def __init__(self, client: httpx.AsyncClient, config: BaseModel) -> None:
        self.client = client
        self.config = config

    async def test(self) -> dict[str, Any]:
        """Prove the credentials work with a cheap documented call; returns what it learned."""
        raise NotSupported(f"{self.spec.title} has no test call", integration=self.spec.slug)

    def not_supported(self, operation: str, why: str) -> NotSupported:
        return NotSupported(f"{self.spec.title}: {operation}: {why}", integration=self.spec.slug)


# Marketplaces and job feeds


class BudgetKind(StrEnum):
    fixed = "fixed"  # a price for the whole job
    hourly = "hourly"  # a rate per hour
    salary = "salary"  # employment pay per year, as job boards state it


class Budget(BaseModel):
    kind: BudgetKind
    currency: str = Field(min_length=3, max_length=3)
    min_minor: int | None = None
    max_minor: int | None = None


class JobQuery(BaseModel):
    keywords: str | None = None
    skills: tuple[str, ...] = ()
    min_budget_minor: int | None = None
    posted_after: datetime | None = None
    cursor: str | None = Field(default=None, description="Resume after this provider cursor")
    limit: int = Field(default=50, ge=1, le=1_000_000, description="Postings in all, not per page")


class JobPosting(BaseModel):
    """One listing as the provider described it, before Gigforge normalizes and scores it."""

    model_config = ConfigDict(frozen=True)

    platform: str
    external_id: str
    url: str
    title: str
    description: str = ""
    skills: tuple[str, ...] = ()
    category: str | None = None
    budget: Budget | None = None
    posted_at: datetime | None = None
    client: Mapping[str, Any] = Field(default_factory=dict)
    proposals_count: int | None = None
    cursor: str | None = Field(default=None, description="Where a later search resumes")
    raw: Mapping[str, Any] = Field(default_factory=dict)


class ProposalSubmission(BaseModel):
    external_job_id: str
    cover_letter: str
    amount_minor: int
    currency: str
    period_days: int | None = None
    idempotency_key: str = Field(min_length=8)


class SubmissionResult(BaseModel):
    external_id: str
    status: str
    raw: Mapping[str, Any] = Field(default_factory=dict)


class HandOff(BaseModel):
    """The user finishes on the platform: a link to the job and the approved text to paste."""

    url: str
    text: str


class Marketplace(Connector, abc.ABC):
    @abc.abstractmethod
    def search(self, query: JobQuery) -> AsyncIterator[JobPosting]:
        """Listings matching the query, newest first, following the provider's paging."""

    async def submit_proposal(self, proposal: ProposalSubmission) -> SubmissionResult:
        raise self.not_supported("submit_proposal", "the platform offers no proposal API")

    def hand_off(self, posting: JobPosting, text: str) -> HandOff:
        return HandOff(url=posting.url, text=text)


class JobFeed(Connector, abc.ABC):
    @abc.abstractmethod
    def listings(
        self, since: datetime | None = None, *, cursor: str | None = None
    ) -> AsyncIterator[JobPosting]:
        """Read-only listings after `since` (or after `cursor`, for feeds that have cursors:
        then in cursor order, so the last posting's cursor is a safe place to resume)."""


# Language models


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str


class ChatRequest(BaseModel):
    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class ChatResult(BaseModel):
    text: str
    model: str
    usage: Usage
    finish_reason: str | None = None
    cost_micro_usd: int | None = Field(
        default=None, description="Cost in millionths of a dollar when the price is known"
    )


class LLM(Connector, abc.ABC):
    @abc.abstractmethod
    async def chat(self, request: ChatRequest) -> ChatResult:
        """One chat completion with its token usage."""


# Payments


class CheckoutRequest(BaseModel):
    amount_minor: int = Field(gt=0)
    currency: str = Field(min_length=3, max_length=3)
    description: str
    success_url: str
    cancel_url: str
    customer_email: str | None = None
    reference: str = Field(description="Our id for the payment; also the idempotency key")


class CheckoutSession(BaseModel):
    id: str
    url: str | None
    status: str
    amount_minor: int
    currency: str


class Refund(BaseModel):
    id: str
    status: str
    amount_minor: int


class Payout(BaseModel):
    id: str
    status: str
    amount_minor: int
    currency: str


class WebhookEvent(BaseModel):
    id: str
    type: str
    created: datetime
    data: Mapping[str, Any]


class Payments(Connector, abc.ABC):
    @abc.abstractmethod
    async def create_checkout(self, request: CheckoutRequest) -> CheckoutSession: ...

    async def refund(self, payment_id: str, *, amount_minor: int, idempotency_key: str) -> Refund:
        raise self.not_supported("refund", "not offered by this connector")

    async def payout(
        self, *, amount_minor: int, currency: str, destination: str, idempotency_key: str
    ) -> Payout:
        raise self.not_supported("payout", "not offered by this connector")

    @abc.abstractmethod
    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """Verify the provider's signature and parse the event; raise on any doubt."""


# Outbound channels and stores


class Email(Connector, abc.ABC):
    @abc.abstractmethod
    async def send(self, *, to: str, subject: str, text: str, html: str | None = None) -> str:
        """Send one message; returns the provider's message id."""


class ObjectStore(Connector, abc.ABC):
    @abc.abstractmethod
    async def put(self, key: str, data: bytes, *, content_type: str) -> str: ...

    @abc.abstractmethod
    async def get(self, key: str) -> bytes: ...

    @abc.abstractmethod
    async def delete(self, key: str) -> None: ...


class CRM(Connector, abc.ABC):
    @abc.abstractmethod
    async def upsert_contact(self, *, email: str, name: str, fields: Mapping[str, Any]) -> str: ...

    @abc.abstractmethod
    async def create_deal(
        self, *, contact_id: str, title: str, amount_minor: int, currency: str
    ) -> str: ...


class ProjectTool(Connector, abc.ABC):
    @abc.abstractmethod
    async def create_task(self, *, project: str, title: str, description: str) -> str: ...


class SocialChannel(Connector, abc.ABC):
    @abc.abstractmethod
    async def publish(self, *, text: str, link: str | None = None) -> str: ...


class Analytics(Connector, abc.ABC):
    @abc.abstractmethod
    async def track(self, *, name: str, properties: Mapping[str, Any]) -> None: ...


class Notifier(Connector, abc.ABC):
    @abc.abstractmethod
    async def notify(self, *, title: str, body: str, link: str | None = None) -> None: ...
