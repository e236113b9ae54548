"""Each deterministic check fails on output that visibly misses its requirement."""

from __future__ import annotations

from pathlib import Path

import pytest

from gigforge.agents import AgentOutput, AgentRegistry, InputFile, ProducedFile, TaskBrief
from gigforge.agents import sandbox as code_sandbox
from gigforge.agents.checks import csv_checks, length_checks, structure_checks, translation_checks

REGISTRY = AgentRegistry.from_entry_points([])
SCHEMA = {"columns": {"name": "str", "age": "int", "joined": "date"}, "required": ["name"]}


def failing(checks: list) -> dict[str, str]:  # type: ignore[type-arg]
    return {check.name: check.detail for check in checks if not check.passed}


def output_of(*files: tuple[str, str]) -> AgentOutput:
    return AgentOutput(
        files=[
            ProducedFile(name=name, media_type="text/plain", content=text.encode())
            for name, text in files
        ],
        summary="",
        steps=[],
        cost_micro_usd=0,
    )


def test_a_text_below_its_word_range_fails() -> None:
    assert failing(length_checks("too short", {"min_words": 5, "max_words": 9})) == {
        "min_words": "2 words; at least 5 are required"
    }


def test_a_text_above_its_word_range_fails() -> None:
    assert set(failing(length_checks("one two three", {"max_words": 2}))) == {"max_words"}


def test_an_empty_text_fails() -> None:
    assert set(failing(length_checks("", {}))) == {"not_empty"}


def test_a_missing_required_section_fails() -> None:
    text = "# Title\n\n## Introduction\n\nHello.\n\n## Usage\n\nRun it.\n"
    result = failing(structure_checks(text, {"required_sections": ["Introduction", "FAQ"]}))
    assert result == {"required_sections": "missing sections: FAQ"}


def test_a_section_named_only_in_prose_does_not_count() -> None:
    text = "# Title\n\nThe FAQ section would go here.\n"
    assert set(failing(structure_checks(text, {"required_sections": ["FAQ"]}))) == {
        "required_sections"
    }


def test_a_document_without_a_title_fails() -> None:
    assert set(failing(structure_checks("## Only a section\n\nText.", {}))) == {"has_title"}


def test_the_writing_agent_checks_its_own_file(tmp_path: Path) -> None:
    brief = TaskBrief(title="t", kind="article", requirements={"min_words": 50})
    result = REGISTRY.get("writing").check(
        brief, output_of(("article.md", "# T\n\nShort.")), tmp_path
    )
    assert set(failing(result)) == {"min_words"}


def test_a_missing_translated_paragraph_fails() -> None:
    result = failing(translation_checks("One.\n\nTwo.\n\nThree.", "[de] Eins.\n\n[de] Zwei."))
    assert result == {"paragraph_count": "3 source paragraphs, 2 translated"}


def test_a_paragraph_left_as_the_source_fails() -> None:
    result = failing(translation_checks("One.\n\nTwo.", "[de] Eins.\n\n[de] Two."))
    assert result == {"all_translated": "paragraphs left empty or untranslated: 2"}


def test_an_empty_translated_paragraph_fails() -> None:
    result = failing(translation_checks("One.\n\nTwo.", "Eins.\n\n[de]"))
    assert result == {"all_translated": "paragraphs left empty or untranslated: 2"}


def test_the_research_agent_requires_every_source_named(tmp_path: Path) -> None:
    brief = TaskBrief(
        title="t",
        kind="summary",
        inputs=(InputFile(name="a.txt", content="A."), InputFile(name="b.txt", content="B.")),
    )
    text = "# T\n\n## Summary\n\nText.\n\n## Key points\n\n- A\n\n## Sources\n\n- a.txt\n"
    result = failing(
        REGISTRY.get("research").check(brief, output_of(("summary.md", text)), tmp_path)
    )
    assert result == {"sources_named": "sources not named: b.txt"}


def test_csv_with_the_wrong_columns_fails() -> None:
    result = failing(csv_checks("name,joined,age\nAnn,2024-01-01,3\n", SCHEMA))
    assert set(result) == {"columns"}


def test_csv_values_of_the_wrong_type_fail() -> None:
    result = failing(csv_checks("name,age,joined\nAnn,three,2024-13-01\n", SCHEMA))
    assert result == {
        "types": "line 2 age='three' is not int; line 2 joined='2024-13-01' is not date"
    }


def test_csv_missing_a_required_value_fails() -> None:
    result = failing(csv_checks("name,age,joined\n,3,\n", SCHEMA))
    assert result == {"required_values": "line 2 name"}


def test_csv_with_no_rows_or_ragged_rows_fails() -> None:
    assert set(failing(csv_checks("name,age,joined\n", SCHEMA))) == {"has_rows"}
    assert set(failing(csv_checks("name,age,joined\nAnn,3\n", SCHEMA))) == {"row_width"}


def test_a_schema_with_an_unknown_type_fails() -> None:
    assert set(failing(csv_checks("a\n1\n", {"columns": {"a": "decimal"}}))) == {"schema"}


def test_the_data_agent_needs_a_titled_report(tmp_path: Path) -> None:
    brief = TaskBrief(title="t", kind="csv", requirements=SCHEMA)
    output = output_of(("cleaned.csv", "name,age,joined\nAnn,3,\n"), ("report.md", "no title"))
    assert set(failing(REGISTRY.get("data").check(brief, output, tmp_path))) == {"report_has_title"}


GOOD_MODULE = "def double(value: int) -> int:\n    return value * 2\n"
GOOD_TESTS = "from solution import double\n\n\ndef test_double():\n    assert double(2) == 4\n"


def code_checks(tmp_path: Path, **files: str) -> dict[str, str]:
    brief = TaskBrief(title="t", kind="script")
    output = output_of(*files.items())
    return failing(REGISTRY.get("code").check(brief, output, tmp_path))


needs_sandbox = pytest.mark.skipif(
    not code_sandbox.available(), reason="the kernel has no Landlock"
)


@needs_sandbox
def test_good_code_passes_every_code_check(tmp_path: Path) -> None:
    checks = code_checks(tmp_path, **{"solution.py": GOOD_MODULE, "test_solution.py": GOOD_TESTS})
    assert checks == {}


@needs_sandbox
def test_code_whose_tests_fail_fails(tmp_path: Path) -> None:
    broken = GOOD_MODULE.replace("* 2", "* 3")
    checks = code_checks(tmp_path, **{"solution.py": broken, "test_solution.py": GOOD_TESTS})
    assert set(checks) == {"tests_pass"}
    assert "1 failed" in checks["tests_pass"]


@needs_sandbox
def test_code_that_does_not_lint_clean_fails(tmp_path: Path) -> None:
    unclean = "import os\n" + GOOD_MODULE
    checks = code_checks(tmp_path, **{"solution.py": unclean, "test_solution.py": GOOD_TESTS})
    assert set(checks) == {"lint"}
    assert "F401" in checks["lint"]


@needs_sandbox
def test_code_with_a_syntax_error_fails_lint_import_and_tests(tmp_path: Path) -> None:
    checks = code_checks(
        tmp_path, **{"solution.py": "def broken(:\n", "test_solution.py": GOOD_TESTS}
    )
    assert set(checks) == {"lint", "imports", "tests_pass"}


@needs_sandbox
def test_code_that_fails_on_import_fails(tmp_path: Path) -> None:
    crashing = "raise RuntimeError('boom')\n"
    checks = code_checks(tmp_path, **{"solution.py": crashing, "test_solution.py": GOOD_TESTS})
    assert "imports" in checks
    assert "RuntimeError: boom" in checks["imports"]


@needs_sandbox
def test_code_without_tests_fails(tmp_path: Path) -> None:
    checks = code_checks(tmp_path, **{"solution.py": GOOD_MODULE})
    assert "has_tests" in checks
