"""The code sandbox confines what it runs: its folder only, no network, no new processes, and
hard limits on CPU, wall time, memory and file size. Without Landlock it refuses to run."""

from __future__ import annotations

from pathlib import Path

import pytest

from gigforge.agents import SandboxUnavailable, TaskBrief, _confine, sandbox
from gigforge.agents.builtin.code import CodeAgent
from gigforge.agents.sandbox import Limits, run_python

pytestmark = pytest.mark.skipif(
    not sandbox.available(), reason="the kernel has no Landlock: the sandbox refuses to run"
)
QUICK = Limits(cpu_seconds=1, wall_seconds=5)


def test_the_happy_path_returns_stdout_and_the_exit_code(tmp_path: Path) -> None:
    result = run_python(
        ["main.py"], {"main.py": "import sys\nprint('hello', 6 * 7)\nsys.exit(3)\n"}
    )
    assert result.stdout == "hello 42\n"
    assert result.exit_code == 3
    assert result.killed is None


def test_reading_etc_passwd_is_denied() -> None:
    result = run_python(["-c", "print(open('/etc/passwd').read())"], {})
    assert result.exit_code == 1
    assert "PermissionError" in result.stderr
    assert "root:" not in result.stdout


def test_reading_a_file_in_the_parent_folder_is_denied(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("the server's secret")
    program = (
        "import glob, os\n"
        "print(sorted(os.listdir('.')))\n"
        "print(glob.glob('../../*'))\n"
        "open('../../secret.txt').read()\n"
    )
    result = run_python(["main.py"], {"main.py": program}, parent=tmp_path)
    assert result.stdout.splitlines() == ["['main.py']", "[]"]
    assert "PermissionError" in result.stderr
    assert "the server's secret" not in result.stdout + result.stderr


def test_its_own_folder_is_readable_and_writable() -> None:
    program = "open('out.txt', 'w').write('kept')\nprint(open('out.txt').read())\n"
    assert run_python(["main.py"], {"main.py": program}).stdout == "kept\n"


def test_a_busy_loop_is_killed_at_its_cpu_limit() -> None:
    result = run_python(["-c", "while True:\n    pass\n"], {}, limits=QUICK)
    assert result.exit_code is not None
    assert result.exit_code < 0  # SIGXCPU, then SIGKILL at the hard limit
    assert not result.ok


def test_a_sleeper_is_killed_at_its_wall_time_limit() -> None:
    limits = Limits(cpu_seconds=5, wall_seconds=0.5)
    result = run_python(["-c", "import time\ntime.sleep(60)\n"], {}, limits=limits)
    assert result.killed == "wall-time"
    assert result.exit_code is None


def test_allocating_two_gigabytes_fails_at_the_memory_limit() -> None:
    result = run_python(["-c", "block = bytearray(2 * 1024**3)\nprint(len(block))\n"], {})
    assert result.exit_code == 1
    assert "MemoryError" in result.stderr
    assert result.stdout == ""


def test_writing_a_100_mb_file_fails_at_the_file_size_limit() -> None:
    program = (
        "chunk = b'x' * (1024 * 1024)\n"
        "with open('big.bin', 'wb') as handle:\n"
        "    for _ in range(100):\n"
        "        handle.write(chunk)\n"
        "print('wrote it all')\n"
    )
    result = run_python(["main.py"], {"main.py": program})
    assert not result.ok
    assert "wrote it all" not in result.stdout
    assert "File too large" in result.stderr


def test_new_processes_and_threads_are_refused() -> None:
    program = (
        "import os, threading\n"
        "try:\n    os.fork()\nexcept BlockingIOError:\n    print('no fork')\n"
        "try:\n    threading.Thread(target=print).start()\n"
        "except RuntimeError:\n    print('no thread')\n"
    )
    assert run_python(["main.py"], {"main.py": program}).stdout == "no fork\nno thread\n"


def test_the_network_is_unreachable() -> None:
    program = (
        "import socket\n"
        "try:\n    socket.create_connection(('127.0.0.1', 22), timeout=1)\n"
        "except OSError as exc:\n    print(type(exc).__name__)\n"
    )
    result = run_python(["main.py"], {"main.py": program})
    assert result.stdout.strip() in ("PermissionError", "ConnectionRefusedError", "OSError")
    assert result.exit_code == 0


def test_the_environment_is_scrubbed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIGFORGE_SECRET_KEY", "do-not-leak")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-do-not-leak")
    result = run_python(["-c", "import os\nprint(sorted(os.environ))\n"], {})
    assert "GIGFORGE" not in result.stdout
    assert "OPENAI_API_KEY" not in result.stdout
    assert "do-not-leak" not in result.stdout


def test_a_file_name_may_not_leave_the_folder() -> None:
    with pytest.raises(ValueError, match="outside the sandbox folder"):
        run_python(["-c", "pass"], {"../escape.py": "pass"})


def test_without_landlock_it_refuses_to_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_confine, "landlock_abi", lambda: 0)
    with pytest.raises(SandboxUnavailable, match="cannot be run safely"):
        run_python(["-c", "print('unconfined')"], {})


def test_the_code_agent_reports_code_it_cannot_run_safely(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from gigforge.agents import AgentOutput, ProducedFile

    monkeypatch.setattr(_confine, "landlock_abi", lambda: 0)
    output = AgentOutput(
        files=[
            ProducedFile(name="solution.py", media_type="text/x-python", content=b"X = 1\n"),
            ProducedFile(
                name="test_solution.py",
                media_type="text/x-python",
                content=b"from solution import X\n\n\ndef test_x():\n    assert X == 1\n",
            ),
        ],
        summary="",
        steps=[],
        cost_micro_usd=0,
    )
    checks = CodeAgent().check(TaskBrief(title="t", kind="script"), output, tmp_path)
    [refusal] = [check for check in checks if check.name == "runs_safely"]
    assert not refusal.passed
    assert refusal.detail.startswith("code cannot be run safely on this machine")
