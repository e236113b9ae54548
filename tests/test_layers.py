"""`make lint` fails on a forbidden import: lint-imports run on a copy of the source with one added.

Each test copies `src/gigforge` and the contracts to a temporary directory, writes one import
that breaks a rule from docs/architecture.md, and runs `lint-imports` there. The unmodified
copy keeps every contract, so a failure is the added import's doing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("layers")
    shutil.copytree(
        ROOT / "src" / "gigforge",
        copy / "src" / "gigforge",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


@pytest.fixture
def tree(pristine: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "tree"
    shutil.copytree(pristine, copy)
    return copy


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(tree / "src")}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"],
        cwd=tree,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def add_import(tree: Path, module: str, statement: str) -> None:
    path = tree / "src" / Path(*module.split(".")).with_suffix(".py")
    path.write_text(path.read_text() + f"\n{statement}  # added by tests/test_layers.py\n")


def test_the_source_keeps_every_contract(tree: Path) -> None:
    result = lint_imports(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("module", "statement", "broken"),
    [
        pytest.param(
            "gigforge.kit.clock",
            "import gigforge.proposals.service",
            "gigforge.kit is not allowed to import gigforge.proposals",
            id="kit-imports-a-domain",
        ),
        pytest.param(
            "gigforge.integrations.framework.registry",
            "import gigforge.web",
            "gigforge.integrations.framework is not allowed to import gigforge.web",
            id="framework-imports-the-dashboard",
        ),
        pytest.param(
            "gigforge.accounts.service",
            "import gigforge.cli",
            "gigforge.accounts is not allowed to import gigforge.cli",
            id="domain-imports-the-cli",
        ),
        pytest.param(
            "gigforge.proposals.auto_approve",
            "import gigforge.opportunities.models",
            "Illegal imports of protected package gigforge.opportunities.models",
            id="domain-reads-another-domains-models",
        ),
        pytest.param(
            "gigforge.web.pages_proposals",
            "import gigforge.opportunities.repository",
            "Illegal imports of protected package gigforge.opportunities.repository",
            id="dashboard-reads-a-repository",
        ),
        pytest.param(
            "gigforge.opportunities.service",
            "import gigforge.integrations.freelancer",
            "gigforge.opportunities is not allowed to import gigforge.integrations.freelancer",
            id="domain-imports-a-vendor",
        ),
        pytest.param(
            "gigforge.connections.service",
            "import gigforge.integrations.upwork._graphql",
            "gigforge.integrations.upwork._graphql",
            id="private-module-from-outside-its-package",
        ),
    ],
)
def test_a_forbidden_import_fails_lint(
    tree: Path, module: str, statement: str, broken: str
) -> None:
    add_import(tree, module, statement)
    result = lint_imports(tree)
    assert result.returncode == 1, result.stdout + result.stderr
    assert broken in " ".join(result.stdout.split())
