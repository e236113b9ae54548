"""`gigforge payments`: the wallet, invoices, payouts and the payout account from the
terminal. Commands act as the account `--user` names (or the server's only account); work
that reaches the provider is queued for the server's workers, except `connect`, `reconcile`
and `rates --refresh`, which call it here (with no transaction open)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from gigforge.accounts.principal import Principal
from gigforge.cli_support import build_app, fail, run_as
from gigforge.kit.console import Record, print_listing
from gigforge.kit.db import unit_of_work
from gigforge.kit.errors import GigforgeError
from gigforge.kit.money import InvalidAmount, format_major, minor_to_major, parse_major_units
from gigforge.kit.pagination import PageParams
from gigforge.ledger.service import ledger
from gigforge.payments import accounts, payouts, preferences, presenting, rates, reconciling
from gigforge.payments.documents import invoice_pdf
from gigforge.payments.invoices import LineInput, invoices
from gigforge.payments.models import PaymentMethod, PayoutMethod
from gigforge.payments.platform import PaymentsPlatform

payments_app = typer.Typer(
    help="Money: wallet, invoices, payouts, the payout account.", no_args_is_help=True
)
console = Console(soft_wrap=True)
UserOption = Annotated[str | None, typer.Option("--user", help="The account's email")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON")]


def _id(raw: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise fail(f"not a {what} id: {raw!r}") from None


def _minor(amount: str, currency: str) -> int:
    try:
        return parse_major_units(amount, currency)
    except InvalidAmount as exc:
        raise fail(str(exc)) from None


def _money(value: Any, currency: str) -> str:
    return format_major(Decimal(str(value)), currency)


@payments_app.command("wallet")
def wallet(user: UserOption = None, as_json: JsonOption = False) -> None:
    """Your balances per currency, from the ledger."""

    async def work(session: AsyncSession, principal: Principal) -> list[Record]:
        balances = await ledger.balances(session, principal.user_id)
        return [presenting.currency_balance(b).model_dump(mode="json") for b in balances]

    records = run_as(user, work)
    print_listing(
        console,
        headers=["currency", "balance", "pending", "available", "reserved", "owed"],
        records=records,
        row=lambda r: [
            r["currency"],
            *(
                _money(r[key], r["currency"])
                for key in ("balance", "pending", "available_for_withdrawal", "reserved", "owed")
            ),
        ],
        as_json=as_json,
    )


@payments_app.command("transactions")
def transactions(
    limit: Annotated[int, typer.Option(min=1, max=100)] = 20,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Your ledger transactions, newest first, with what each did to your balance."""

    async def work(session: AsyncSession, principal: Principal) -> list[Record]:
        page = await ledger.transactions(session, principal.user_id, limit=limit)
        return [
            presenting.transaction(view, with_postings=True).model_dump(mode="json")
            for view in page.transactions
        ]

    records = run_as(user, work)
    print_listing(
        console,
        headers=["id", "when", "type", "amount", "description"],
        records=records,
        row=lambda r: [
            r["transaction_id"],
            r["occurred_at"][:19],
            r["type"],
            _money(r["amount"], r["currency"]),
            r["description"],
        ],
        as_json=as_json,
    )


@payments_app.command("invoices")
def list_invoices(user: UserOption = None, as_json: JsonOption = False) -> None:
    """Your invoices and credit notes, newest first."""

    async def work(session: AsyncSession, principal: Principal) -> list[Record]:
        rows, _ = await invoices.list(session, principal, PageParams(limit=100))
        return [presenting.invoice(row).model_dump(mode="json") for row in rows]

    records = run_as(user, work)
    print_listing(
        console,
        headers=["id", "number", "status", "total", "client"],
        records=records,
        row=lambda r: [
            r["invoice_id"],
            r["number"] or "(draft)",
            r["status"],
            _money(r["total"], r["currency"]),
            r["client_name"],
        ],
        as_json=as_json,
    )


def _line(raw: str, currency: str) -> LineInput:
    """`description:quantity:unit price[:tax %]`."""
    parts = raw.rsplit(":", 3)
    if len(parts) < 3:
        raise fail(f"a line is description:quantity:unit price[:tax %], not {raw!r}")
    if len(parts) == 3:
        parts.append("0")
    description, quantity, unit, tax = parts
    try:
        tax_bps = int(Decimal(tax) * 100)
        count = int(quantity)
    except (InvalidOperation, ValueError):
        raise fail(f"a line's quantity and tax are numbers: {raw!r}") from None
    return LineInput(description, count, _minor(unit, currency), tax_bps)


@payments_app.command("invoice-create")
def invoice_create(
    job: Annotated[str | None, typer.Option("--job", help="Invoice this job")] = None,
    amount: Annotated[str | None, typer.Option(help="For a job: this amount")] = None,
    client: Annotated[str | None, typer.Option(help="The client's name")] = None,
    email: Annotated[str | None, typer.Option(help="The client's email")] = None,
    currency: Annotated[str, typer.Option(help="ISO 4217 code")] = "USD",
    line: Annotated[
        list[str] | None, typer.Option("--line", help="description:quantity:unit price[:tax %]")
    ] = None,
    manual: Annotated[bool, typer.Option(help="Paid by bank transfer, not Stripe")] = False,
    user: UserOption = None,
) -> None:
    """Draft an invoice from a job, or from lines you give."""
    method = PaymentMethod.manual if manual else PaymentMethod.stripe

    async def work(session: AsyncSession, principal: Principal) -> str:
        if job is not None and not line:
            row = await invoices.from_job(
                session,
                principal,
                job_id=_id(job, "job"),
                amount_minor=_minor(amount, currency) if amount else None,
                method=method,
                client_email=email,
            )
        else:
            if not client or not line:
                raise GigforgeError("give --job, or --client and at least one --line")
            row = await invoices.create(
                session,
                principal,
                client_name=client,
                client_email=email,
                currency=currency,
                lines=[_line(raw, currency.upper()) for raw in line],
                job_id=_id(job, "job") if job else None,
                method=method,
            )
        return str(row.id)

    invoice_id = run_as(user, work)
    console.print(f"Draft invoice {invoice_id}; issue it with `gigforge payments invoice-issue`")


@payments_app.command("invoice-issue")
def invoice_issue(
    invoice_id: str,
    rate: Annotated[str | None, typer.Option(help="Home currency per invoice unit")] = None,
    user: UserOption = None,
) -> None:
    """Number and finalize a draft; the provider's payment page follows in the background."""
    try:
        exchange = Decimal(rate) if rate else None
    except InvalidOperation:
        raise fail(f"not a rate: {rate!r}") from None

    async def work(session: AsyncSession, principal: Principal) -> str:
        row = await invoices.issue(
            session, principal, _id(invoice_id, "invoice"), exchange_rate=exchange
        )
        total = format_major(minor_to_major(row.total_minor, row.currency), row.currency)
        return f"{row.number}: {total}"

    console.print(f"Issued {run_as(user, work)}", markup=False)


@payments_app.command("invoice-pdf")
def invoice_document(
    invoice_id: str,
    out: Annotated[Path, typer.Option("--out", help="Where to write the PDF")],
    user: UserOption = None,
) -> None:
    """Write an issued invoice's PDF."""

    async def work(session: AsyncSession, principal: Principal) -> bytes:
        row = await invoices.get(session, principal, _id(invoice_id, "invoice"))
        if row.number is None:
            raise GigforgeError("a draft has no PDF yet; issue it first")
        return await invoice_pdf(session, principal, row)

    out.write_bytes(run_as(user, work))
    console.print(f"Wrote {out}", markup=False)


@payments_app.command("invoice-paid")
def invoice_paid(
    invoice_id: str,
    reference: Annotated[str, typer.Option(help="The bank transfer's reference")],
    user: UserOption = None,
) -> None:
    """Record that the client paid an issued invoice by bank transfer."""

    async def work(session: AsyncSession, principal: Principal) -> str:
        row = await invoices.mark_paid(
            session, principal, _id(invoice_id, "invoice"), reference=reference
        )
        return row.number or ""

    console.print(f"{run_as(user, work)} is paid", markup=False)


@payments_app.command("invoice-credit")
def invoice_credit(
    invoice_id: str,
    reason: Annotated[str, typer.Option(help="Why it is corrected")],
    amount: Annotated[str | None, typer.Option(help="Default: all that is left")] = None,
    user: UserOption = None,
) -> None:
    """Issue a credit note (voids an unpaid invoice credited in full; refunds a paid one)."""

    async def work(session: AsyncSession, principal: Principal) -> str:
        original = await invoices.get(session, principal, _id(invoice_id, "invoice"))
        note = await invoices.credit(
            session,
            principal,
            original.id,
            reason=reason,
            amount_minor=_minor(amount, original.currency) if amount else None,
        )
        return note.number or ""

    console.print(f"Issued credit note {run_as(user, work)}", markup=False)


@payments_app.command("payout")
def payout(
    amount: str,
    method: Annotated[PayoutMethod, typer.Option(help="bank_transfer, instant or check")] = (
        PayoutMethod.bank_transfer
    ),
    currency: Annotated[str | None, typer.Option(help="Default: your currency")] = None,
    bank: Annotated[str | None, typer.Option(help="Bank account id (see the dashboard)")] = None,
    user: UserOption = None,
) -> None:
    """Withdraw: the amount is held; approve it with `payout-approve` (your password)."""
    app = build_app()
    platform: PaymentsPlatform = app.state.payments

    async def work(session: AsyncSession, principal: Principal) -> Record:
        code = currency or (await preferences.of(session, principal.user_id)).home_currency
        row = await payouts.request(
            session,
            platform,
            principal,
            amount_minor=_minor(amount, code.upper()),
            currency=code.upper(),
            method=method,
            bank_account_ref=bank,
        )
        return presenting.payout(row).model_dump(mode="json")

    record = run_as(user, work)
    console.print(
        f"Payout {record['payout_id']}: {record['status'].replace('_', ' ')}", markup=False
    )


@payments_app.command("payouts")
def list_payouts(user: UserOption = None, as_json: JsonOption = False) -> None:
    """Your payouts, newest first."""

    async def work(session: AsyncSession, principal: Principal) -> list[Record]:
        rows, _ = await payouts.listed(session, principal, PageParams(limit=100))
        return [presenting.payout(row).model_dump(mode="json") for row in rows]

    print_listing(
        console,
        headers=["id", "status", "amount", "method", "requested"],
        records=run_as(user, work),
        row=lambda r: [
            r["payout_id"],
            r["status"],
            _money(r["amount"], r["currency"]),
            r["method"],
            r["created_at"][:19],
        ],
        as_json=as_json,
    )


@payments_app.command("payout-approve")
def payout_approve(payout_id: str, user: UserOption = None) -> None:
    """Approve a payout; asks for your password (the second factor)."""
    password = typer.prompt("Password", hide_input=True)
    app = build_app()

    async def work(session: AsyncSession, principal: Principal) -> str:
        row = await payouts.approve(
            session,
            principal,
            _id(payout_id, "payout"),
            settings=app.state.settings,
            password=password,
        )
        return row.status.value

    console.print(f"Payout {payout_id}: {run_as(user, work)}", markup=False)


@payments_app.command("payout-decline")
def payout_decline(payout_id: str, user: UserOption = None) -> None:
    """Decline a payout waiting for approval; the held money is available again."""

    async def work(session: AsyncSession, principal: Principal) -> str:
        return (await payouts.decline(session, principal, _id(payout_id, "payout"))).status.value

    console.print(f"Payout {payout_id}: {run_as(user, work)}", markup=False)


@payments_app.command("connect")
def connect(
    country: Annotated[str, typer.Option(help="Your country (ISO 3166 two letters)")] = "US",
    user: UserOption = None,
) -> None:
    """Set up payouts: prints the provider's onboarding link to open in a browser."""
    app = build_app()
    platform: PaymentsPlatform = app.state.payments
    settings = app.state.settings

    async def main() -> str:
        from gigforge.accounts.operator_service import operator

        async with unit_of_work(platform.context.database) as session:
            principal = await operator.principal_for(session, user)
        onboarding = await accounts.connect(
            platform,
            principal,
            email=principal.user.email,
            country=country.upper(),
            refresh_url=f"{settings.public_url.rstrip('/')}/payments/account?refresh=1",
            return_url=f"{settings.public_url.rstrip('/')}/payments/account?returned=1",
        )
        return onboarding.url

    try:
        url = asyncio.run(main())
    except GigforgeError as exc:
        raise fail(exc.detail) from None
    console.print(f"Open this link to finish setting up payouts:\n{url}", markup=False)


@payments_app.command("reconcile")
def reconcile(
    since: Annotated[
        datetime | None, typer.Option(help="From this time (default: the last 7 days)")
    ] = None,
) -> None:
    """Compare the provider's balance history with the ledger now, and list the differences."""
    app = build_app()
    platform: PaymentsPlatform = app.state.payments
    try:
        run = asyncio.run(reconciling.reconcile(platform, since=since))
    except GigforgeError as exc:
        raise fail(exc.detail) from None
    console.print(f"{run.checked} provider entries checked, {len(run.differences)} differences")
    for difference in run.differences:
        console.print(f"- {difference['kind']}: {difference['detail']}", markup=False)
    if run.differences:
        raise typer.Exit(1)


@payments_app.command("rates")
def exchange_rates(
    refresh: Annotated[bool, typer.Option("--refresh", help="Fetch the latest rates now")] = False,
    base: Annotated[str, typer.Option(help="Show rates against this currency")] = "USD",
) -> None:
    """The reference exchange rates invoices snapshot (ECB), optionally refreshed first."""
    app = build_app()
    platform: PaymentsPlatform = app.state.payments

    async def main() -> list[tuple[str, str]]:
        if refresh:
            count = await rates.refresh(platform.context)
            console.print(f"Fetched {count} rates")
        shown: list[tuple[str, str]] = []
        async with unit_of_work(platform.context.database) as session:
            for code in ("EUR", "GBP", "USD", "CHF", "JPY", "PLN", "SEK"):
                if code == base.upper():
                    continue
                found = await rates.rate_for(session, code, base.upper())
                if found is not None:
                    shown.append((code, f"{found[0]} {base.upper()} ({found[1]})"))
        return shown

    try:
        shown = asyncio.run(main())
    except GigforgeError as exc:
        raise fail(exc.detail) from None
    if not shown:
        console.print("No rates on record yet; run with --refresh")
    for code, text in shown:
        console.print(f"1 {code} = {text}", markup=False)
