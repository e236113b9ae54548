"""`gigforge payments` and `gigforge ledger verify` from the terminal."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from factories import cli_environment, cli_user_ada
from gigforge.cli import app
from gigforge.kit.db import Database

runner = CliRunner()


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    data_dir = cli_environment(monkeypatch, tmp_path)
    cli_user_ada()
    return data_dir


def test_an_invoice_by_hand_paid_by_bank_transfer(cli_env: Path, tmp_path: Path) -> None:
    created = runner.invoke(
        app,
        [
            "payments", "invoice-create", "--client", "Globex", "--currency", "EUR",
            "--line", "Translation: 10 pages:10:45.00:19", "--manual",
        ],
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    invoice_id = created.output.split()[2].rstrip(";")
    issued = runner.invoke(app, ["payments", "invoice-issue", invoice_id, "--rate", "1.08"])
    assert issued.exit_code == 0, issued.output
    assert "INV-000001: EUR 535.50" in issued.output
    pdf = tmp_path / "invoice.pdf"
    written = runner.invoke(app, ["payments", "invoice-pdf", invoice_id, "--out", str(pdf)])
    assert written.exit_code == 0, written.output
    assert pdf.read_bytes().startswith(b"%PDF-")
    paid = runner.invoke(app, ["payments", "invoice-paid", invoice_id, "--reference", "SEPA 4471"])
    assert paid.exit_code == 0, paid.output
    listed = runner.invoke(app, ["payments", "invoices", "--json"])
    [invoice] = json.loads(listed.output)
    assert invoice["status"] == "paid"
    assert invoice["home_total"] == 578.34  # 535.50 EUR at 1.08
    transactions = runner.invoke(app, ["payments", "transactions", "--json"])
    kinds = sorted(item["type"] for item in json.loads(transactions.output))
    assert kinds == ["payment", "payout"]  # earned, and already in the user's bank
    verified = runner.invoke(app, ["ledger", "verify"])
    assert verified.exit_code == 0, verified.output
    assert "The ledger balances" in verified.output


def test_refusals_are_one_line(cli_env: Path) -> None:
    bad_line = runner.invoke(
        app, ["payments", "invoice-create", "--client", "X", "--line", "no price"]
    )
    assert bad_line.exit_code == 1
    assert "description:quantity:unit price" in bad_line.output
    fraction = runner.invoke(
        app, ["payments", "invoice-create", "--client", "X", "--line", "Work:1:10.001"]
    )
    assert fraction.exit_code == 1
    assert "decimals" in fraction.output
    check = runner.invoke(app, ["payments", "payout", "10", "--method", "check"])
    assert check.exit_code == 1
    assert "check" in check.output
    assert "Traceback" not in check.output
    wallet = runner.invoke(app, ["payments", "wallet", "--json"])
    assert wallet.exit_code == 0
    assert json.loads(wallet.output) == []


def test_ledger_verify_reports_a_tampered_balance(cli_env: Path) -> None:
    created = runner.invoke(
        app,
        ["payments", "invoice-create", "--client", "Initech", "--line", "Work:1:100", "--manual"],
    )
    invoice_id = created.output.split()[2].rstrip(";")
    runner.invoke(app, ["payments", "invoice-issue", invoice_id])
    runner.invoke(app, ["payments", "invoice-paid", invoice_id, "--reference", "r1"])

    async def tamper() -> None:
        database = Database.from_url(f"sqlite+aiosqlite:///{(cli_env / 'gigforge.db').resolve()}")
        try:
            async with database.engine.begin() as connection:
                await connection.execute(
                    text(
                        "UPDATE ledger_accounts SET balance_minor = balance_minor + 1 "
                        "WHERE kind = 'available'"
                    )
                )
        finally:
            await database.dispose()

    asyncio.run(tamper())
    verified = runner.invoke(app, ["ledger", "verify"])
    assert verified.exit_code == 1
    assert "kept balance 1 but its postings sum to 0" in verified.output
    assert "does not balance" in verified.output
