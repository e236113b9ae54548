"""Each built-in agent, end to end over the sandbox models: it plans, stays within its step
cap, asks the router only for its own model task, and its output passes its checks."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from agent_support import SandboxLLM
from gigforge.agents import AgentFailed, AgentRegistry, InputFile, StepCapReached, TaskBrief
from gigforge.agents import sandbox as code_sandbox
from gigforge.agents.builtin.translation import TranslationAgent
from gigforge.agents.prompts import ModelSteps
from gigforge.integrations.framework.spec import ModelTask

REGISTRY = AgentRegistry.from_entry_points([])

ARTICLE = TaskBrief(
    title="Onboarding remote contractors",
    kind="blog_post",
    instructions="For small agencies hiring their first contractors.",
    requirements={
        "min_words": 300,
        "max_words": 420,
        "required_sections": ["Introduction", "Checklist", "Conclusion"],
    },
)
CUSTOMERS = (
    "Name, Email ,Signup,Orders,Notes\n"
    " Ann ,ANN@example.com,2024-01-05,3,first\n"
    "Bob,,2024-02-01,1,no email\n"
    'Cy,cy@example.com,05/03/2024,"1,200",\n'
    " Ann ,ann@example.com,2024-01-05,3,duplicate\n"
    "Dee,dee@example.com,not a date,two,\n"
)
SCHEMA = {
    "columns": {"name": "str", "email": "email", "signup": "date", "orders": "int"},
    "required": ["name", "email"],
}


async def run(brief: TaskBrief, llm: SandboxLLM, tmp_path: Path) -> tuple[str, list[str]]:
    agent = REGISTRY.for_kind(brief.kind)
    output = await agent.run(brief, llm, tmp_path)
    checks = agent.check(brief, output, tmp_path)
    assert [check.name for check in checks if not check.passed] == []
    assert len(llm.calls) == len(agent.plan(brief)) <= agent.spec.step_cap
    assert set(llm.tasks()) == {agent.spec.model_task}
    assert [step.name for step in output.steps] == [step.name for step in agent.plan(brief)]
    assert output.cost_micro_usd == sum(step.cost_micro_usd for step in output.steps) > 0
    for item in output.files:
        assert (tmp_path / item.name).read_bytes() == item.content
    return agent.spec.slug, [item.name for item in output.files]


async def test_the_writing_agent_writes_the_asked_length_and_sections(
    llm: SandboxLLM, tmp_path: Path
) -> None:
    assert await run(ARTICLE, llm, tmp_path) == ("writing", ["blog_post.md"])
    text = (tmp_path / "blog_post.md").read_text()
    assert text.startswith("# Onboarding remote contractors\n")
    assert "## Checklist" in text
    assert [call.prompt.splitlines()[0] for call in llm.calls] == [
        "Gigforge agent: writing / step: outline",
        "Gigforge agent: writing / step: draft",
        "Gigforge agent: writing / step: revise",
    ]


@pytest.mark.skipif(not code_sandbox.available(), reason="the kernel has no Landlock")
async def test_the_code_agent_delivers_a_module_whose_tests_pass(
    llm: SandboxLLM, tmp_path: Path
) -> None:
    brief = TaskBrief(title="Word frequency script", kind="script")
    assert await run(brief, llm, tmp_path) == ("code", ["solution.py", "test_solution.py"])


async def test_the_code_agent_adds_the_briefs_own_tests(llm: SandboxLLM, tmp_path: Path) -> None:
    tests = (
        "from solution import slugify\n\n\ndef test_slug():\n    assert slugify('A b') == 'a-b'\n"
    )
    brief = TaskBrief(title="Slugs", kind="script", requirements={"tests": tests})
    output = await REGISTRY.get("code").run(brief, llm, tmp_path)
    assert output.file("test_brief.py") is not None
    assert output.file("test_brief.py").text == tests  # type: ignore[union-attr]
    if code_sandbox.available():
        checks = REGISTRY.get("code").check(brief, output, tmp_path)
        assert all(check.passed for check in checks), checks


async def test_the_research_agent_summarises_and_names_its_sources(
    llm: SandboxLLM, tmp_path: Path
) -> None:
    brief = TaskBrief(
        title="Remote hiring in 2025",
        kind="summary",
        requirements={"min_words": 120, "max_words": 260},
        inputs=(
            InputFile(name="report-a.txt", content="Remote hiring grew in 2025. It is steady."),
            InputFile(name="survey-b.txt", content="Freelancers prefer async work. Briefs vary."),
        ),
    )
    assert await run(brief, llm, tmp_path) == ("research", ["summary.md"])
    text = (tmp_path / "summary.md").read_text()
    assert "- Remote hiring grew in 2025." in text
    assert text.rstrip().endswith("- report-a.txt\n- survey-b.txt")


async def test_the_translation_agent_translates_every_paragraph(
    llm: SandboxLLM, tmp_path: Path
) -> None:
    brief = TaskBrief(
        title="Shop page",
        kind="translation",
        requirements={"language_from": "en", "language_to": "de"},
        inputs=(InputFile(name="page.md", content="Welcome to our shop.\n\nWe sell tea.\n"),),
    )
    assert await run(brief, llm, tmp_path) == ("translation", ["translation.de.md"])
    assert (tmp_path / "translation.de.md").read_text() == (
        "[de] Wilcumi tu uar shup.\n\n[de] Wi sill tie.\n"
    )


async def test_the_translation_agent_chunks_long_texts_within_its_step_cap(
    llm: SandboxLLM, tmp_path: Path
) -> None:
    source = "\n\n".join(f"Paragraph number {n} is here." for n in range(1, 21))
    brief = TaskBrief(
        title="Long page",
        kind="translation",
        requirements={"language_to": "fr"},
        inputs=(InputFile(name="long.md", content=source),),
    )
    agent = TranslationAgent()
    output = await agent.run(brief, llm, tmp_path)
    assert len(llm.calls) == len(agent.plan(brief)) == 5 <= agent.spec.step_cap
    assert all(check.passed for check in agent.check(brief, output, tmp_path))


async def test_the_translation_agent_needs_a_target_language(
    llm: SandboxLLM, tmp_path: Path
) -> None:
    brief = TaskBrief(
        title="Page", kind="translation", inputs=(InputFile(name="a", content="Hello."),)
    )
    with pytest.raises(AgentFailed, match="language_to"):
        await TranslationAgent().run(brief, llm, tmp_path)
    assert llm.calls == []


async def test_the_data_agent_cleans_a_csv_into_its_schema(llm: SandboxLLM, tmp_path: Path) -> None:
    brief = TaskBrief(
        title="Customer list",
        kind="csv",
        requirements=SCHEMA,
        inputs=(InputFile(name="customers.csv", content=CUSTOMERS),),
    )
    assert await run(brief, llm, tmp_path) == ("data", ["cleaned.csv", "report.md"])
    rows = list(csv.reader(io.StringIO((tmp_path / "cleaned.csv").read_text())))
    assert rows == [
        ["name", "email", "signup", "orders"],
        ["Ann", "ann@example.com", "2024-01-05", "3"],
        ["Cy", "cy@example.com", "2024-03-05", "1200"],
        ["Dee", "dee@example.com", "", ""],
    ]
    assert "5 rows read, 3 kept, 2 removed" in (tmp_path / "report.md").read_text()


async def test_the_data_agent_takes_json_and_gives_json_too(
    llm: SandboxLLM, tmp_path: Path
) -> None:
    records = [{"name": "Ann", "email": "ann@example.com", "orders": 2}, {"name": None}]
    brief = TaskBrief(
        title="Records",
        kind="json",
        requirements={**SCHEMA, "format": "json"},
        inputs=(InputFile(name="records.json", content=json.dumps(records)),),
    )
    assert await run(brief, llm, tmp_path) == (
        "data",
        ["cleaned.csv", "report.md", "cleaned.json"],
    )
    assert json.loads((tmp_path / "cleaned.json").read_text()) == [
        {"name": "Ann", "email": "ann@example.com", "signup": None, "orders": 2}
    ]


async def test_a_step_past_the_cap_is_refused(llm: SandboxLLM) -> None:
    spec = TranslationAgent.spec.model_copy(update={"step_cap": 1})
    steps = ModelSteps(spec, llm)
    await steps.ask("one", "hello", max_tokens=10)
    with pytest.raises(StepCapReached):
        await steps.ask("two", "hello", max_tokens=10)
    assert len(llm.calls) == 1
    assert steps.records[0].model == "sandbox:text-model"


def test_every_builtin_plans_its_steps() -> None:
    plans = {spec.slug: REGISTRY.get(spec.slug).plan(ARTICLE) for spec in REGISTRY.all()}
    assert [step.name for step in plans["writing"]] == ["outline", "draft", "revise"]
    assert [step.name for step in plans["code"]] == ["design", "implement"]
    assert [step.name for step in plans["data"]] == ["clean", "report"]
    assert [step.name for step in plans["research"]] == ["notes", "summary"]
    assert all(step.purpose for plan in plans.values() for step in plan)
    assert ModelTask.translation == REGISTRY.get("translation").spec.model_task


async def test_a_long_minimum_gets_enough_tokens(llm: SandboxLLM, tmp_path: Path) -> None:
    brief = TaskBrief(title="A long guide", kind="documentation", requirements={"min_words": 1500})
    await run(brief, llm, tmp_path)
    assert "## Installation" in (tmp_path / "documentation.md").read_text()
