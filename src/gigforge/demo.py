"""`gigforge demo`: the whole loop, headless, against the sandboxes.

It runs the same code as the server, in sandbox mode, in the configured data directory: a demo
account connects Freelancer.com (through the sandbox's OAuth consent) and OpenAI (with the
sandbox's key), scans, scores, drafts a proposal with the model router, approves it and submits
it; then the sandbox client awards the bid, which becomes a job: the award is accepted through
the API, agents do the job's tasks through the sandbox model, the quality gate scores them (a
first attempt below the threshold is retried with the judges' feedback), the demo user approves
and the work is delivered as a Freelancer.com message with the files attached. Then the client
accepts, Gigforge invoices the job, the client pays on the Stripe sandbox's hosted page, the
platform keeps its fee and transfers the rest to the user's connected account, and the user
withdraws half with their password. It prints what happened at each step. Nothing leaves the
machine.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
from fastapi import FastAPI
from sqlalchemy import delete, select

from gigforge.accounts.models import User
from gigforge.accounts.principal import Principal
from gigforge.accounts.scopes import Role, scopes_for
from gigforge.accounts.service import auth as auth_service
from gigforge.connections.context import IntegrationContext
from gigforge.connections.models import Connection
from gigforge.connections.schemas import ConnectionCreate
from gigforge.connections.service import connections as connection_service
from gigforge.jobs import awards
from gigforge.jobs.models import Job, JobTask
from gigforge.jobs.service import jobs as job_service
from gigforge.kit.actor import SYSTEM
from gigforge.kit.db import unit_of_work
from gigforge.kit.errors import GigforgeError
from gigforge.kit.money import format_major, minor_to_major
from gigforge.ledger.service import ledger
from gigforge.opportunities.models import Opportunity, OpportunityProfile
from gigforge.opportunities.scanning import Scanner
from gigforge.payments import accounts as payment_accounts
from gigforge.payments import payouts
from gigforge.payments.invoices import invoices
from gigforge.payments.models import PayoutAccount, PayoutMethod
from gigforge.payments.platform import PaymentsPlatform
from gigforge.proposals.models import Proposal, ProposalVersion
from gigforge.proposals.service import budgets_for
from gigforge.proposals.service import proposals as proposal_service

DEMO_EMAIL = "demo@gigforge.local"
DEMO_PASSWORD = "local sandbox passphrase 7"  # noqa: S105 - a local demo account's password


@dataclass(frozen=True)
class DemoResult:
    found: int
    opportunity: str
    probability: float
    proposal_status: str
    bid_id: str | None
    job_status: str | None = None


async def run_demo(app: FastAPI, say: Callable[[str], None]) -> DemoResult:
    context: IntegrationContext = app.state.integrations
    sandboxes = app.state.sandboxes
    if "freelancer" not in sandboxes or "openai" not in sandboxes:
        raise GigforgeError("the demo needs the Freelancer.com and OpenAI sandboxes installed")
    principal = await _demo_account(context, say)
    freelancer = await _connect_freelancer(app, context, principal, say)
    await _connect_openai(context, principal, sandboxes["openai"].api_key, say)

    report = await Scanner(context).scan(freelancer)
    say(
        f"3. Scanned Freelancer.com: {report.found} new, {report.updated} updated, "
        f"{report.duplicates} duplicates, {report.skipped} skipped"
    )
    async with unit_of_work(context.database) as session:
        best = (
            await session.execute(
                select(Opportunity)
                .where(
                    Opportunity.user_id == principal.user_id,
                    Opportunity.platform == "freelancer",
                    Opportunity.dismissed_at.is_(None),
                )
                .order_by(Opportunity.success_probability.desc())
                .limit(1)
            )
        ).scalar_one()
        say(
            f"4. Best match: {best.title!r}: success {best.success_probability:.0%}, "
            f"fit {best.fit_score}/100; why: {'; '.join(best.factors[:3])}"
        )
        proposal = await proposal_service.draft(
            session,
            principal,
            context=context,
            opportunity_id=best.id,
            budgets=budgets_for(context.settings),
            router=app.state.router,
        )
        version = (
            await session.execute(
                select(ProposalVersion).where(ProposalVersion.proposal_id == proposal.id)
            )
        ).scalar_one()
        label = "a template (not AI)" if version.not_ai else version.author
        say(f"5. Drafted a proposal with {label}:\n   " + version.text.replace("\n", "\n   "))
        await proposal_service.approve(session, principal, proposal_id=proposal.id)
        say("6. Approved it (recorded in the audit log)")
        proposal_id, title, probability = proposal.id, best.title, best.success_probability
    await app.state.tasks.run_due()  # the submission task, as a worker would run it
    async with unit_of_work(context.database) as session:
        submitted = await session.get(Proposal, proposal_id)
        assert submitted is not None
        status, bid = submitted.status.value, submitted.external_id
    say(f"7. Submission: {status}" + (f" as Freelancer.com bid {bid}" if bid else ""))
    job_status = (
        await _work_the_award(app, principal, freelancer, proposal_id, say) if bid else None
    )
    return DemoResult(report.found, title, probability, status, bid, job_status)


async def _work_the_award(
    app: FastAPI,
    principal: Principal,
    connection_id: uuid.UUID,
    proposal_id: uuid.UUID,
    say: Callable[[str], None],
) -> str | None:
    """Steps 8-12: the award becomes a job the agents do, the gate scores, the user approves
    and Gigforge delivers."""
    context: IntegrationContext = app.state.integrations
    await awards.check(context, connection_id)  # what the scheduler's award check runs
    async with unit_of_work(context.database) as session:
        job = await job_service.for_proposal(session, proposal_id)
        if job is None:
            say("8. The client has not awarded the bid (yet): no job")
            return None
        say(f"8. The client awarded the bid: job {job.title!r} is {job.status.value}")
        await job_service.accept(session, principal, job_id=job.id)
        job_id = job.id
    await app.state.tasks.run_due()  # accept through the API, then the agents' tasks
    async with unit_of_work(context.database) as session:
        job = await session.get(Job, job_id)
        assert job is not None
        tasks = (
            (await session.execute(select(JobTask).where(JobTask.job_id == job_id))).scalars().all()
        )
        say(
            f"9. Accepted the award through the API; {len(tasks)} task(s) for the agents: "
            + ", ".join(f"{task.agent} ({task.kind})" for task in tasks)
        )
        for task in tasks:
            for attempt in task.report.get("attempts", []):
                verdict = attempt.get("verdict") or {}
                checks = attempt.get("checks") or []
                passed = sum(1 for check in checks if check.get("passed"))
                say(
                    f"10. Quality gate, {task.agent} attempt {attempt['number']}: "
                    f"checks {passed}/{len(checks)} passed, judges "
                    f"{verdict.get('score', '-')}/5 from {len(verdict.get('samples', []))} "
                    f"samples (disagreement {verdict.get('disagreement', '-')})"
                    + (" after feedback" if attempt.get("feedback") else "")
                )
            marked = " (below the threshold)" if task.status.value == "below_threshold" else ""
            say(f"    {task.agent}: {task.status.value}, score {task.quality_score}/5{marked}")
        if job.status.value != "review":
            say(f"    The job is {job.status.value}; nothing to approve")
            return job.status.value
        await job_service.approve(session, principal, job_id=job_id)
        say("11. Approved the work (recorded in the audit log)")
        await job_service.deliver(session, principal, job_id=job_id)
    await app.state.tasks.run_due()  # the delivery task
    async with unit_of_work(context.database) as session:
        job = await session.get(Job, job_id)
        assert job is not None
        deliveries = await job_service.deliveries(session, job)
        files = await job_service.deliverables(session, job)
        for delivery in deliveries:
            how = (
                "as a Freelancer.com message"
                if delivery.channel == "freelancer_message"
                else f"by {delivery.channel}"
            )
            say(
                f"12. Job {job.status.value}: {delivery.status} {how} with {len(files)} "
                f"file(s), ref {delivery.reference}"
            )
        if job.status.value != "delivered":
            return job.status.value
    return await _get_paid(app, principal, job_id, say)


#: Where a sandbox connected account's payouts go, by the job's currency (its default currency).
COUNTRY_OF = {"USD": "US", "EUR": "DE", "GBP": "GB", "CAD": "CA", "AUD": "AU", "INR": "IN"}


async def _get_paid(
    app: FastAPI, principal: Principal, job_id: uuid.UUID, say: Callable[[str], None]
) -> str:
    """Steps 13-17: the client accepts, Gigforge invoices, the client pays on Stripe's hosted
    page, the platform keeps its fee and transfers the rest, and the user withdraws."""
    context: IntegrationContext = app.state.integrations
    platform: PaymentsPlatform = app.state.payments
    settings = context.settings
    async with unit_of_work(context.database) as session:
        job = await job_service.complete(session, principal, job_id=job_id)
        currency = job.currency or "USD"
    say("13. The client accepted the work: the job is completed")
    async with unit_of_work(context.database) as session:
        # A sandbox lives as long as its process: an account made by an earlier run is gone.
        await session.execute(
            delete(PayoutAccount).where(PayoutAccount.user_id == principal.user_id)
        )
    base = settings.public_url.rstrip("/")
    onboarding = await payment_accounts.connect(
        platform,
        principal,
        email=principal.user.email,
        country=COUNTRY_OF.get(currency, "US"),
        refresh_url=f"{base}/payments/account?refresh=1",
        return_url=f"{base}/payments/account?returned=1",
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base) as browser:
        form = await browser.get(onboarding.url)
        us = COUNTRY_OF.get(currency, "US") == "US"
        number = "000123456789" if us else "DE89370400440532013000"
        await browser.post(
            onboarding.url,
            data={"business_name": "Demo Studio", "account_number": number},
        )
        account = await payment_accounts.refresh_account(platform, principal.user_id)
        ready = account is not None and account.payouts_enabled
        say(
            f"14. Set up payouts on Stripe Connect's hosted onboarding ({form.status_code}): "
            f"account {onboarding.account.account_id}, payouts "
            + ("enabled" if ready else "not enabled yet")
        )
        async with unit_of_work(context.database) as session:
            draft = await invoices.from_job(
                session, principal, job_id=job_id, client_email="client@example.com"
            )
            invoice = await invoices.issue(session, principal, draft.id)
            invoice_id, number_text = invoice.id, invoice.number
        await app.state.tasks.run_due()  # the invoice is created and sent at Stripe
        async with unit_of_work(context.database) as session:
            issued = await invoices.find(session, invoice_id)
            assert issued is not None
            pay_url, total = issued.hosted_url, issued.total_minor
        shown = format_major(minor_to_major(total, currency), currency)
        say(f"15. Issued {number_text} for {shown}; Stripe's hosted page: {pay_url}")
        if pay_url is None:
            return "completed"
        await browser.post(pay_url, data={})  # the client pays on the hosted page
    await app.state.tasks.run_due()  # the transfer to the connected account
    async with unit_of_work(context.database) as session:
        balance = await ledger.balance(session, principal.user_id, currency)
    fee = platform.platform_fee(total)
    say(
        f"16. Paid: the platform kept {format_major(minor_to_major(fee, currency), currency)} "
        f"and transferred the rest; available "
        f"{format_major(minor_to_major(balance.available_minor, currency), currency)}"
    )
    amount = balance.available_minor // 2
    if amount <= 0 or not ready:
        return "completed"
    async with unit_of_work(context.database) as session:
        payout = await payouts.request(
            session,
            platform,
            principal,
            amount_minor=amount,
            currency=currency,
            method=PayoutMethod.bank_transfer,
            bank_account_ref=None,
        )
        payout_id = payout.id
    async with unit_of_work(context.database) as session:
        await payouts.approve(
            session, principal, payout_id, settings=settings, password=DEMO_PASSWORD
        )
    await app.state.tasks.run_due()  # the payout through Stripe
    async with unit_of_work(context.database) as session:
        done = await payouts.get(session, principal, payout_id)
        balance = await ledger.balance(session, principal.user_id, currency)
        report = await ledger.verify(session)
    say(
        f"17. Payout of {format_major(minor_to_major(amount, currency), currency)} approved with "
        f"the password: {done.status.value}; wallet "
        f"{format_major(minor_to_major(balance.balance_minor, currency), currency)}; the ledger "
        + ("balances" if report.clean else "does NOT balance: " + "; ".join(report.problems()))
    )
    return "completed"


async def _demo_account(context: IntegrationContext, say: Callable[[str], None]) -> Principal:
    async with unit_of_work(context.database) as session:
        user = (
            await session.execute(select(User).where(User.email == DEMO_EMAIL))
        ).scalar_one_or_none()
        if user is None:
            user = await auth_service.create_user(
                session,
                SYSTEM,
                settings=context.settings,
                email=DEMO_EMAIL,
                password=DEMO_PASSWORD,
                full_name="Demo Freelancer",
                role=Role.member,
            )
            session.add(
                OpportunityProfile(
                    user_id=user.id,
                    skills=["python", "fastapi", "react"],
                    hourly_rate_minor=6000,
                    min_budget_minor=30000,
                )
            )
        say(f"1. Demo account {DEMO_EMAIL} (password: {DEMO_PASSWORD!r})")
        return Principal(user=user, scopes=frozenset(scopes_for(user.role)))


async def _existing(context: IntegrationContext, user_id: uuid.UUID, slug: str) -> uuid.UUID | None:
    async with unit_of_work(context.database) as session:
        found = (
            await session.execute(
                select(Connection.id).where(
                    Connection.user_id == user_id, Connection.integration == slug
                )
            )
        ).scalar_one_or_none()
    return found


async def _connect_freelancer(
    app: FastAPI, context: IntegrationContext, principal: Principal, say: Callable[[str], None]
) -> uuid.UUID:
    existing = await _existing(context, principal.user_id, "freelancer")
    if existing is not None:
        # A sandbox lives as long as its process: tokens from an earlier run mean nothing now.
        async with unit_of_work(context.database) as session:
            await connection_service.delete(session, principal, connection_id=existing)
    async with unit_of_work(context.database) as session:
        start = await connection_service.start_oauth(
            session, principal, context=context, slug="freelancer", name="default"
        )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://demo") as browser:
        parts = urlsplit(start.authorize_url)
        consent = await browser.get(f"{parts.path}?{parts.query}")
    if "location" not in consent.headers:
        raise GigforgeError(f"the sandbox OAuth consent failed: {consent.text[:200]}")
    back = parse_qs(urlsplit(consent.headers["location"]).query)
    # The demo is the browser that started the flow: it finishes it with the nonce it kept.
    async with unit_of_work(context.database) as session:
        connection = await connection_service.complete_oauth(
            session,
            principal,
            context=context,
            slug="freelancer",
            code=back["code"][0],
            state=back["state"][0],
            nonce=start.nonce,
        )
    say("2. Connected Freelancer.com through its (sandbox) OAuth consent, PKCE and all")
    return connection.id


async def _connect_openai(
    context: IntegrationContext, principal: Principal, api_key: str, say: Callable[[str], None]
) -> None:
    if await _existing(context, principal.user_id, "openai") is not None:
        return
    async with unit_of_work(context.database) as session:
        await connection_service.create(
            session,
            principal,
            context=context,
            data=ConnectionCreate(integration="openai", config={"api_key": api_key}),
        )
    say("   Connected OpenAI (sandbox key; its test call passed)")
