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
from gigforge.integrations.framework.payments import (
    BalanceEntry,
    BankAccountRequest,
    ConnectedAccount,
    Customer,
    ExternalBankAccount,
    InvoiceRequest,
    PaymentEvent,
    PayoutRequest,
    PayoutSpeed,
    ProviderInvoice,
    ProviderPayout,
    ProviderSubscription,
    RateTable,
    SubscriptionRequest,
    Transfer,
    TransferReversal,
)
from gigforge.integrations.framework.records import (
    ChangePage,
    Container,
    Pipeline,
    RecordKind,
    RemoteRecord,
    Subscription,
    TaskStatus,
    WebhookReceipt,
)
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


# Winning work and talking to the client


AwardStatus = Literal["pending", "awarded", "accepted", "rejected", "revoked", "canceled"]


class Award(BaseModel):
    """Where one of the user's bids or proposals stands with the client, as the platform says.

    `awarded` is an offer waiting for the user; `accepted` is work the user took on; `pending`,
    `rejected`, `revoked` and `canceled` are the platform's other answers. Alert emails rarely
    state an amount, so `amount_minor` and `currency` are None when the source did not say.
    """

    model_config = ConfigDict(frozen=True)

    platform: str
    external_bid_id: str = Field(description="The bid, proposal, offer or order the award is for")
    external_project_id: str
    status: AwardStatus
    amount_minor: int | None = None
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    awarded_at: datetime | None = None
    client_name: str | None = None
    client_id: str | None = None
    title: str | None = None
    url: str | None = None
    raw: Mapping[str, Any] = Field(default_factory=dict)


class Winning(Connector, abc.ABC):
    """Awards on the user's bids: read them, and accept one where the platform lets an app."""

    @abc.abstractmethod
    async def awards(self, since_cursor: str | None = None) -> tuple[list[Award], str | None]:
        """Awards whose status changed since `since_cursor` (all known ones without it), and
        the cursor to pass next time. The cursor is opaque; a lost cursor repeats awards, so
        callers upsert by (platform, external_bid_id) and never count on seeing one once."""

    async def accept_award(self, external_bid_id: str) -> Award:
        """Accept an award the user confirmed; returns it `accepted`. Safe to call again."""
        raise self.not_supported("accept_award", "the platform offers no way to accept an award")


class Attachment(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    media_type: str = "application/octet-stream"
    content: bytes


class MessageThread(BaseModel):
    model_config = ConfigDict(frozen=True)

    platform: str
    thread_id: str
    external_project_id: str | None = None
    client_id: str | None = None
    client_name: str | None = None
    title: str | None = None
    updated_at: datetime | None = None
    message_count: int | None = None
    raw: Mapping[str, Any] = Field(default_factory=dict)


class ClientMessage(BaseModel):
    model_config = ConfigDict(frozen=True)

    thread_id: str
    message_id: str
    from_client: bool = Field(description="False for what the user (or Gigforge for them) sent")
    sender_id: str | None = None
    text: str
    sent_at: datetime | None = None
    attachments: tuple[str, ...] = Field(default=(), description="File names")
    raw: Mapping[str, Any] = Field(default_factory=dict)


class OutgoingMessage(BaseModel):
    """One approved message. `idempotency_key` is ours: platforms without idempotency keys
    are reconciled by content instead (see each connector's `send_message`)."""

    thread_id: str | None = None
    external_project_id: str | None = Field(
        default=None, description="Used to find (or open) the thread when thread_id is None"
    )
    text: str = Field(min_length=1)
    attachments: tuple[Attachment, ...] = ()
    idempotency_key: str = Field(min_length=8)


class SentMessage(BaseModel):
    thread_id: str
    message_id: str
    status: Literal["sent", "already_sent"]
    raw: Mapping[str, Any] = Field(default_factory=dict)


class ClientMessaging(Connector, abc.ABC):
    """Conversations with clients. Reading is abstract; sending is optional, since several
    platforms let apps read messages but reserve sending to their own apps (a hand-off)."""

    @abc.abstractmethod
    async def threads(self, *, external_project_id: str | None = None) -> list[MessageThread]:
        """The user's threads, newest activity first; only the project's when one is given."""

    @abc.abstractmethod
    async def messages(
        self, thread_id: str, *, since: datetime | None = None
    ) -> list[ClientMessage]:
        """A thread's messages, oldest first; only those sent after `since` when given."""

    async def send_message(self, message: OutgoingMessage) -> SentMessage:
        """Send once: a message already in the thread is returned as `already_sent`."""
        raise self.not_supported("send_message", "the platform offers no way to send messages")


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
    """Collecting money from clients. The models live in `framework.payments`."""

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

    def interpret(self, event: WebhookEvent) -> PaymentEvent:
        """The event in the ledger's words (kind `other` when it does not concern money)."""
        raise self.not_supported("interpret", "this connector does not describe its events")

    async def create_customer(self, *, email: str, name: str, reference: str) -> Customer:
        raise self.not_supported("customers", "not offered by this connector")

    async def create_invoice(self, request: InvoiceRequest) -> ProviderInvoice:
        """Create, finalize and (when asked) send an invoice; returns it with its hosted page."""
        raise self.not_supported("invoices", "not offered by this connector")

    async def get_invoice(self, invoice_id: str) -> ProviderInvoice:
        raise self.not_supported("invoices", "not offered by this connector")

    async def void_invoice(self, invoice_id: str) -> ProviderInvoice:
        raise self.not_supported("invoices", "not offered by this connector")

    async def create_subscription(self, request: SubscriptionRequest) -> ProviderSubscription:
        raise self.not_supported("subscriptions", "not offered by this connector")

    async def cancel_subscription(self, subscription_id: str) -> ProviderSubscription:
        raise self.not_supported("subscriptions", "not offered by this connector")

    def recent_events(
        self, *, created_after: datetime | None = None
    ) -> AsyncIterator[WebhookEvent]:
        """Events the provider still keeps, newest first: catching up after missed webhooks."""
        raise self.not_supported("events", "not offered by this connector")

    def balance_entries(
        self, *, created_after: datetime | None = None, account: str | None = None
    ) -> AsyncIterator[BalanceEntry]:
        """The balance history (of `account`, a connected account, or the platform's)."""
        raise self.not_supported("balance history", "not offered by this connector")


class ConnectedPayouts(Connector, abc.ABC):
    """Paying users out: connected accounts, transfers to them, bank accounts and payouts."""

    #: Payout speeds the provider offers; a method outside it gets a clear error.
    payout_speeds: ClassVar[frozenset[PayoutSpeed]] = frozenset()

    @abc.abstractmethod
    async def create_account(
        self, *, email: str, country: str, reference: str
    ) -> ConnectedAccount: ...

    @abc.abstractmethod
    async def onboarding_link(self, account_id: str, *, refresh_url: str, return_url: str) -> str:
        """A single-use link to the provider's own onboarding for the account."""

    @abc.abstractmethod
    async def get_account(self, account_id: str) -> ConnectedAccount: ...

    @abc.abstractmethod
    async def transfer(
        self,
        *,
        amount_minor: int,
        currency: str,
        destination: str,
        transfer_group: str | None,
        reference: str,
    ) -> Transfer:
        """Move funds from the platform to a connected account; `reference` is the
        idempotency key, so a retry never transfers twice."""

    async def reverse_transfer(
        self, transfer_id: str, *, amount_minor: int, reference: str
    ) -> TransferReversal:
        """Take `amount_minor` of a transfer back from the connected account to the platform;
        `reference` is the idempotency key, so a retry never reverses twice."""
        raise self.not_supported("transfer reversals", "not offered by this connector")

    async def add_bank_account(
        self, account_id: str, request: BankAccountRequest
    ) -> ExternalBankAccount:
        raise self.not_supported("bank accounts", "not offered by this connector")

    @abc.abstractmethod
    async def create_payout(self, request: PayoutRequest) -> ProviderPayout: ...

    @abc.abstractmethod
    async def find_payout(self, account_id: str, reference: str) -> ProviderPayout | None:
        """The payout created with this reference, if any: how a payout whose outcome was
        never recorded (a crash after the call) is reconciled before any retry."""


class ExchangeRates(Connector, abc.ABC):
    """Reference exchange rates, for the home-currency amount an invoice snapshots."""

    @abc.abstractmethod
    async def latest(self) -> RateTable:
        """The provider's latest published rates."""


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
    """A CRM's contacts, companies and deals, as the sync engine reads and writes them (the
    models and normalized field names are in `framework.records`)."""

    @abc.abstractmethod
    async def upsert(
        self,
        kind: RecordKind,
        fields: Mapping[str, Any],
        *,
        external_id: str | None,
        idempotency_key: str,
    ) -> RemoteRecord:
        """Create the record (no `external_id`) or change the given fields of it; returns it
        as the CRM now has it. A retry with the same key never creates a second one."""

    @abc.abstractmethod
    async def get(self, kind: RecordKind, external_id: str) -> RemoteRecord | None:
        """The record, or None when the CRM no longer has it."""

    @abc.abstractmethod
    async def delete(self, kind: RecordKind, external_id: str) -> None: ...

    @abc.abstractmethod
    async def changes(
        self, kind: RecordKind, *, since: datetime | None, cursor: str | None = None
    ) -> ChangePage:
        """Records of `kind` changed at or after `since` (deleted ones flagged, where the
        CRM tells), oldest first, one page at a time."""

    @abc.abstractmethod
    async def pipelines(self) -> list[Pipeline]:
        """The deal pipelines and their stages."""

    def parse_webhook(
        self, headers: Mapping[str, str], body: bytes, *, url: str, method: str = "POST"
    ) -> WebhookReceipt:
        """Verify the CRM's signature and read the changes; raise on any doubt."""
        raise self.not_supported("webhooks", "this CRM's changes are read by polling")


class ProjectTool(Connector, abc.ABC):
    """A project tool's projects and tasks, as the sync engine reads and writes them."""

    @abc.abstractmethod
    async def containers(self) -> list[Container]:
        """Where the user can put projects (workspaces, organizations, Jira projects)."""

    @abc.abstractmethod
    async def upsert(
        self,
        kind: RecordKind,
        fields: Mapping[str, Any],
        *,
        external_id: str | None,
        container: str | None = None,
        idempotency_key: str,
    ) -> RemoteRecord:
        """Create (no `external_id`; a project in `container`, a task in
        `fields["project"]`) or change the given fields; a retry never creates a second."""

    @abc.abstractmethod
    async def get(self, kind: RecordKind, external_id: str) -> RemoteRecord | None: ...

    @abc.abstractmethod
    async def delete(self, kind: RecordKind, external_id: str) -> None: ...

    @abc.abstractmethod
    async def statuses(self, project_id: str) -> list[TaskStatus]:
        """The states a task of this project can be in."""

    @abc.abstractmethod
    async def changes(
        self, project_id: str, *, since: datetime | None, cursor: str | None = None
    ) -> ChangePage:
        """The project's tasks changed at or after `since`, oldest first, paged."""

    async def subscribe(self, project_id: str, *, callback_url: str) -> Subscription:
        """Ask the tool to post the project's changes to `callback_url`."""
        raise self.not_supported("webhooks", "this tool's changes are read by polling")

    async def unsubscribe(self, subscription_id: str) -> None:
        raise self.not_supported("webhooks", "this tool's changes are read by polling")

    def parse_webhook(
        self,
        headers: Mapping[str, str],
        body: bytes,
        *,
        url: str,
        secret: str | None = None,
    ) -> WebhookReceipt:
        """Verify and read a webhook request (or answer its handshake); raise on any doubt.
        `secret` is the subscription's, where the tool gives one per subscription."""
        raise self.not_supported("webhooks", "this tool's changes are read by polling")


class SocialChannel(Connector, abc.ABC):
    @abc.abstractmethod
    async def publish(self, *, text: str, link: str | None = None) -> str: ...


class Analytics(Connector, abc.ABC):
    @abc.abstractmethod
    async def track(self, *, name: str, properties: Mapping[str, Any]) -> None: ...


class Notifier(Connector, abc.ABC):
    @abc.abstractmethod
    async def notify(self, *, title: str, body: str, link: str | None = None) -> None: ...
