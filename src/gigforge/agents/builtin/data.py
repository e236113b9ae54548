"""The data agent: cleans a CSV or JSON table into the brief's schema and reports on it.

The input is normalised to CSV before a model sees it (JSON records become rows), so the model
does one kind of work; the cleaned table must then meet the schema exactly (columns in order,
types, required values), which the check verifies row by row. A report in Markdown says what
was changed. With `requirements.format = "json"` the cleaned table is also given as JSON.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, ClassVar

from gigforge.agents.checks import COLUMN_TYPES, csv_checks, structure_checks
from gigforge.agents.errors import AgentFailed
from gigforge.agents.prompts import ModelSteps, fenced_blocks, require_text, step_prompt
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
    slug="data",
    name="Data agent",
    capabilities=("data_cleaning", "csv", "json", "data_report"),
    model_task=ModelTask.data,
    rubric=("correctness of the cleaning", "report clarity", "schema adherence"),
)
REPORT_TOKENS = 600


def as_csv(content: str) -> str:
    """CSV as it is; a JSON array of objects as CSV with the union of their keys."""
    stripped = content.strip()
    if not stripped.startswith("["):
        return stripped + "\n"
    try:
        records = json.loads(stripped)
    except json.JSONDecodeError as exc:
        raise AgentFailed(f"The JSON input does not parse: {exc}") from None
    if not isinstance(records, list) or not all(isinstance(row, dict) for row in records):
        raise AgentFailed("The JSON input must be an array of objects")
    columns: list[str] = []
    for row in records:
        columns.extend(key for key in row if key not in columns)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(
        {key: "" if value is None else value for key, value in row.items()} for row in records
    )
    return buffer.getvalue()


def as_json(text: str, columns: dict[str, str]) -> str:
    rows: list[dict[str, Any]] = []
    for row in csv.DictReader(io.StringIO(text)):
        rows.append({name: _typed(row.get(name, ""), columns.get(name, "str")) for name in row})
    return json.dumps(rows, indent=2) + "\n"


def _typed(value: str, kind: str) -> Any:
    if value == "":
        return None
    if kind == "int" and COLUMN_TYPES["int"](value):
        return int(value)
    if kind == "float" and COLUMN_TYPES["float"](value):
        return float(value)
    if kind == "bool" and COLUMN_TYPES["bool"](value):
        return value.casefold() == "true"
    return value


class DataAgent(Agent):
    spec: ClassVar[AgentSpec] = SPEC

    def plan(self, brief: TaskBrief) -> list[Step]:
        return [
            Step(name="clean", purpose="Clean the table into the schema"),
            Step(name="report", purpose="Report what was removed, fixed and found"),
        ]

    async def run(self, brief: TaskBrief, llm: LLMCall, workdir: Path) -> AgentOutput:
        if not brief.inputs:
            raise AgentFailed("A data brief needs the table to clean as an input")
        if not brief.requirements.get("columns"):
            raise AgentFailed("A data brief needs requirements.columns, the schema to clean to")
        table = brief.inputs[0]
        normalised = brief.model_copy(
            update={"inputs": (table.model_copy(update={"content": as_csv(table.content)}),)}
        )
        steps = ModelSteps(self.spec, llm)
        reply = await steps.ask(
            "clean",
            step_prompt(self.spec, "clean", normalised),
            max_tokens=len(normalised.inputs[0].content.split()) * 3 + 200,
        )
        blocks = fenced_blocks(require_text(reply, "table"), "csv")
        cleaned = (blocks[0] if blocks else reply).strip() + "\n"
        report = await steps.ask(
            "report",
            step_prompt(self.spec, "report", normalised, sections=[("Cleaned table", cleaned)]),
            max_tokens=REPORT_TOKENS,
        )
        files = [
            ProducedFile(name="cleaned.csv", media_type="text/csv", content=cleaned.encode()),
            ProducedFile(
                name="report.md", media_type="text/markdown", content=report.strip().encode()
            ),
        ]
        if brief.requirements.get("format") == "json":
            document = as_json(cleaned, dict(brief.requirements["columns"]))
            files.append(
                ProducedFile(
                    name="cleaned.json", media_type="application/json", content=document.encode()
                )
            )
        for item in files:
            (workdir / item.name).write_bytes(item.content)
        rows = max(0, len(cleaned.strip().splitlines()) - 1)
        return AgentOutput(
            files=files,
            summary=f"{rows} clean row(s) in {len(brief.requirements['columns'])} column(s)",
            steps=steps.records,
            cost_micro_usd=steps.cost_micro_usd,
        )

    def check(self, brief: TaskBrief, output: AgentOutput, workdir: Path) -> list[Check]:
        table, report = output.file("cleaned.csv"), output.file("report.md")
        checks = csv_checks(table.text if table else "", brief.requirements)
        checks += [
            Check(name=f"report_{check.name}", passed=check.passed, detail=check.detail)
            for check in structure_checks(report.text if report else "", {})
        ]
        return checks
