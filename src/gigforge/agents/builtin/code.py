"""The code agent: small Python scripts and programs, delivered with their pytest tests.

Two steps: a design (the modules, the functions, the cases to test), then the files, each in a
fence labelled `file=<name>.py`. Tests the brief supplies (`requirements.tests`) are added as
`test_brief.py` and always win over the model's. Checks: there are tests; the code lints clean
(ruff with pyflakes, pycodestyle and bugbear rules, run on a copy of the files, since a linter
reads code and never executes it); and, in the confined sandbox (`gigforge.agents.sandbox`), the
modules import and the tests pass. Where the machine cannot confine code, the check fails with
"code cannot be run safely on this machine" and nothing runs.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import ClassVar

from gigforge.agents import sandbox
from gigforge.agents.errors import AgentFailed, SandboxUnavailable
from gigforge.agents.prompts import ModelSteps, fenced_blocks, fenced_files, step_prompt
from gigforge.agents.spec import (
    Agent,
    AgentOutput,
    AgentSpec,
    Check,
    LLMCall,
    ProducedFile,
    Step,
    TaskBrief,
)
from gigforge.integrations.framework.spec import ModelTask

SPEC = AgentSpec(
    slug="code",
    name="Code agent",
    capabilities=("script", "program", "python"),
    model_task=ModelTask.code,
    rubric=("correctness", "readability", "test coverage", "fit to the brief"),
)
DESIGN_TOKENS = 400
CODE_TOKENS = 3000
LINT_RULES = "E,F,W,B"
LINT_SECONDS = 30
_MODULE_FILE = re.compile(r"^[A-Za-z_]\w{0,60}\.py$")
PYTEST_INI = "[pytest]\naddopts = -p no:cacheprovider\n"
BRIEF_TESTS = "test_brief.py"


def is_test(name: str) -> bool:
    return name.startswith("test_") or name.endswith("_test.py")


def python_files(reply: str) -> dict[str, str]:
    files = {name: body for name, body in fenced_files(reply).items() if _MODULE_FILE.match(name)}
    if not files:
        blocks = fenced_blocks(reply, "python")
        if blocks:
            files = {"solution.py": blocks[0]}
    return files


class CodeAgent(Agent):
    spec: ClassVar[AgentSpec] = SPEC

    def plan(self, brief: TaskBrief) -> list[Step]:
        return [
            Step(name="design", purpose="Name the modules, functions and test cases"),
            Step(name="implement", purpose="Write the modules and their pytest tests"),
        ]

    async def run(self, brief: TaskBrief, llm: LLMCall, workdir: Path) -> AgentOutput:
        steps = ModelSteps(self.spec, llm)
        design = await steps.ask(
            "design", step_prompt(self.spec, "design", brief), max_tokens=DESIGN_TOKENS
        )
        reply = await steps.ask(
            "implement",
            step_prompt(self.spec, "implement", brief, sections=[("Design", design)]),
            max_tokens=CODE_TOKENS,
        )
        files = python_files(reply)
        if not files:
            raise AgentFailed("The model's answer holds no Python file")
        tests = brief.requirements.get("tests")
        if isinstance(tests, str) and tests.strip():
            files[BRIEF_TESTS] = tests
        produced = [
            ProducedFile(name=name, media_type="text/x-python", content=body.encode())
            for name, body in sorted(files.items())
        ]
        for item in produced:
            (workdir / item.name).write_bytes(item.content)
        modules = [item.name for item in produced if not is_test(item.name)]
        return AgentOutput(
            files=produced,
            summary=f"{len(modules)} module(s) with {len(produced) - len(modules)} test file(s)",
            steps=steps.records,
            cost_micro_usd=steps.cost_micro_usd,
        )

    def check(self, brief: TaskBrief, output: AgentOutput, workdir: Path) -> list[Check]:
        files = {item.name: item.text for item in output.files if item.name.endswith(".py")}
        modules = sorted(name[:-3] for name in files if not is_test(name))
        checks = [
            Check(
                name="has_tests",
                passed=any(is_test(name) for name in files),
                detail="the delivery needs pytest tests (test_*.py)",
            ),
            lint(files),
        ]
        try:
            checks.append(imports(files, modules))
            checks.append(tests_pass(files))
        except SandboxUnavailable as exc:
            checks.append(
                Check(
                    name="runs_safely",
                    passed=False,
                    detail=f"code cannot be run safely on this machine: {exc.detail}",
                )
            )
        return checks


def lint(files: dict[str, str]) -> Check:
    syntax = [f"{name}: {error}" for name, error in _syntax_errors(files)]
    if syntax:
        return Check(name="lint", passed=False, detail="; ".join(syntax))
    if importlib.util.find_spec("ruff") is None:
        return Check(name="lint", passed=True, detail="syntax only: ruff is not installed")
    with tempfile.TemporaryDirectory(prefix="gigforge-lint-") as folder:
        for name, body in files.items():
            (Path(folder) / name).write_text(body)
        result = subprocess.run(  # noqa: S603 - the interpreter running ruff, fixed arguments
            [
                sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache",
                "--select", LINT_RULES, "--output-format", "concise", ".",
            ],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=LINT_SECONDS,
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
            check=False,
        )  # fmt: skip
    return Check(
        name="lint",
        passed=result.returncode == 0,
        detail=(result.stdout or result.stderr).strip()[-2000:] or "clean",
    )


def _syntax_errors(files: dict[str, str]) -> list[tuple[str, str]]:
    errors = []
    for name, body in files.items():
        try:
            compile(body, name, "exec", dont_inherit=True)
        except SyntaxError as exc:
            errors.append((name, f"line {exc.lineno}: {exc.msg}"))
    return errors


def imports(files: dict[str, str], modules: list[str]) -> Check:
    if not modules:
        return Check(name="imports", passed=False, detail="there is no module besides the tests")
    # `-I` keeps the folder off sys.path; the modules are imported from it on purpose.
    program = f"import sys\nsys.path.insert(0, '.')\nimport {', '.join(modules)}"
    result = sandbox.run_python(["-c", program], files)
    return Check(
        name="imports",
        passed=result.ok,
        detail="the modules import" if result.ok else _outcome(result),
    )


def tests_pass(files: dict[str, str]) -> Check:
    result = sandbox.run_python(
        ["-m", "pytest", "-q", "-c", "pytest.ini", "--rootdir", "."],
        {**files, "pytest.ini": PYTEST_INI},
    )
    return Check(name="tests_pass", passed=result.ok, detail=_outcome(result))


def _outcome(result: sandbox.RunResult) -> str:
    if result.killed:
        return f"killed at its {result.killed} limit"
    return (result.stdout + result.stderr).strip()[-2000:]
