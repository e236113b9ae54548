"""`gigforge demo` runs the loop headless against the sandboxes, and again."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gigforge.cli import app as cli


@pytest.fixture
def demo_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("GIGFORGE_ENV", "development")
    monkeypatch.setenv("GIGFORGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("GIGFORGE_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("GIGFORGE_PASSWORD_HASH_MEMORY_KIB", "8")
    monkeypatch.setenv("GIGFORGE_PASSWORD_HASH_TIME_COST", "1")
    monkeypatch.setenv("GIGFORGE_PASSWORD_HASH_PARALLELISM", "1")
    for name in (
        "GIGFORGE_DATABASE_URL",
        "GIGFORGE_SECRET_KEY",
        "GIGFORGE_MASTER_KEY",
        "GIGFORGE_SANDBOX",
        "GIGFORGE_EMBEDDED_WORKER",
        "GIGFORGE_LOG_LEVEL",
    ):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


async def test_demo_carries_the_bid_through_award_agents_gate_delivery_and_payment(
    demo_env: Path,
) -> None:
    runner = CliRunner()
    environment = dict(os.environ)
    for _ in range(2):  # a second run reconnects to its fresh sandbox and goes round again
        result = await asyncio.to_thread(runner.invoke, cli, ["demo"])
        assert result.exit_code == 0, result.output
        output = result.output
        assert "2. Connected Freelancer.com" in output
        assert "3. Scanned Freelancer.com:" in output
        assert "4. Best match:" in output
        assert "5. Drafted a proposal with openai:" in output
        assert "6. Approved it" in output
        assert "7. Submission: submitted as Freelancer.com bid" in output
        assert "8. The client awarded the bid: job" in output
        assert "9. Accepted the award through the API; 1 task(s) for the agents" in output
        assert "10. Quality gate, code attempt 1:" in output
        assert "from 3 samples" in output
        assert "10. Quality gate, code attempt 2:" in output  # retried with the judges' feedback
        assert "11. Approved the work" in output
        assert "12. Job delivered: sent as a Freelancer.com message with 2 file(s)" in output
        assert "13. The client accepted the work: the job is completed" in output
        assert "payouts enabled" in output
        assert "15. Issued INV-" in output
        assert "16. Paid: the platform kept" in output
        assert "approved with the password: paid" in output
        assert "the ledger balances" in output
    assert dict(os.environ) == environment  # the command leaves the process as it found it
