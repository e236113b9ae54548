"""Run generated Python and its tests in a confined subprocess.

The code agent's output is untrusted: a model wrote it. Each run gets a fresh folder of its own
(the cwd, HOME and TMPDIR), a scrubbed environment (no secrets, no GIGFORGE_* variables, only
PATH, LANG and a few Python switches), and the launcher in `_confine.py`, which before exec'ing
the interpreter sets RLIMIT_CPU, RLIMIT_AS, RLIMIT_FSIZE and RLIMIT_NOFILE, moves into its own
network namespace, drops every capability, refuses new processes and threads with a seccomp
filter (RLIMIT_NPROC does not bind root) and applies Landlock: read and
execute beneath the Python runtime's folders (the interpreter's prefixes and the system's
shared libraries) and full access beneath its own folder, nothing else, so /etc/passwd, the
server's files and the folder around the sandbox cannot be read. The parent kills the whole
process group at the wall-time limit. stdout and stderr go to files outside the folder, so
their size is capped by RLIMIT_FSIZE and the parent never buffers a flood.

Landlock is required. Where the kernel lacks it, `run_python` raises `SandboxUnavailable`
instead of running anything: code is never run unconfined.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog

from gigforge.agents import _confine
from gigforge.agents.errors import SandboxUnavailable

logger = structlog.get_logger("gigforge.agents")

LAUNCHER = Path(_confine.__file__)
OUTPUT_LIMIT = 64 * 1024
MIB = 1024 * 1024
_SYSTEM_LIBRARIES = ("/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/local/lib")
_DEVICES = ("/dev/zero", "/dev/urandom")


@dataclass(frozen=True)
class Limits:
    cpu_seconds: int = 10
    wall_seconds: float = 20.0
    memory_bytes: int = 768 * MIB
    file_size_bytes: int = 16 * MIB
    open_files: int = 64


@dataclass(frozen=True)
class RunResult:
    exit_code: int | None
    stdout: str
    stderr: str
    killed: str | None = None  # "wall-time" when the parent killed it

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.killed is None


def landlock_abi() -> int:
    return _confine.landlock_abi() if sys.platform == "linux" else 0


def available() -> bool:
    return landlock_abi() >= 1


def runtime_folders() -> list[str]:
    """What the interpreter needs to read: its prefixes, its library paths, the shared
    libraries of the system, and a few devices."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    paths.update(
        value for key, value in sysconfig.get_paths().items() if key in ("stdlib", "purelib")
    )
    paths.update(_SYSTEM_LIBRARIES)
    existing = {os.path.realpath(path) for path in paths if os.path.exists(path)}
    existing.update(device for device in _DEVICES if os.path.exists(device))
    existing.add(os.path.realpath(sys.executable))
    return sorted(existing)


def scrubbed_environment(folder: Path) -> dict[str, str]:
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(folder),
        "TMPDIR": str(folder),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONUNBUFFERED": "1",
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
    }


def _read_capped(path: Path) -> str:
    with path.open("rb") as handle:
        data = handle.read(OUTPUT_LIMIT)
    return data.decode("utf-8", errors="replace")


def run_python(
    args: Sequence[str],
    files: Mapping[str, str | bytes],
    *,
    limits: Limits | None = None,
    parent: Path | None = None,
) -> RunResult:
    """Run `python -I <args>` in a fresh confined folder holding `files`; the folder is made
    inside `parent` (the system's temporary folder by default) and removed afterwards."""
    if not available():
        raise SandboxUnavailable(
            "Code cannot be run safely on this machine: the kernel has no Landlock support"
        )
    limits = limits or Limits()
    base = tempfile.mkdtemp(prefix="gigforge-run-", dir=parent)
    folder = Path(base) / "work"
    folder.mkdir()
    logs = Path(tempfile.mkdtemp(prefix="gigforge-out-"))
    try:
        for name, content in files.items():
            target = (folder / name).resolve()
            if not target.is_relative_to(folder.resolve()):
                raise ValueError(f"{name!r} is outside the sandbox folder")
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content)
        return _launch(args, folder, logs, limits)
    finally:
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(logs, ignore_errors=True)


def _launch(args: Sequence[str], folder: Path, logs: Path, limits: Limits) -> RunResult:
    config = {
        "limits": {
            "RLIMIT_CPU": limits.cpu_seconds,
            "RLIMIT_AS": limits.memory_bytes,
            "RLIMIT_FSIZE": limits.file_size_bytes,
            "RLIMIT_NOFILE": limits.open_files,
            "RLIMIT_CORE": 0,
        },
        "read": runtime_folders(),
        "write": [str(folder), "/dev/null"],
        "argv": [sys.executable, "-I", *args],
        "env": scrubbed_environment(folder),
    }
    stdout_path, stderr_path = logs / "stdout", logs / "stderr"
    with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
        process = subprocess.Popen(  # noqa: S603 - our launcher, the interpreter, fixed args
            [sys.executable, "-I", str(LAUNCHER), json.dumps(config)],
            cwd=folder,
            env=scrubbed_environment(folder),
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
            close_fds=True,
        )
        killed = None
        try:
            process.wait(timeout=limits.wall_seconds)
        except subprocess.TimeoutExpired:
            killed = "wall-time"
        finally:
            _kill_group(process.pid)
            process.wait()
    result = RunResult(
        exit_code=None if killed else process.returncode,
        stdout=_read_capped(stdout_path),
        stderr=_read_capped(stderr_path),
        killed=killed,
    )
    if result.exit_code == _confine.CONFINEMENT_FAILED and "refusing to run" in result.stderr:
        raise SandboxUnavailable(result.stderr.strip())
    logger.debug("sandbox run", exit_code=result.exit_code, killed=killed)
    return result


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
