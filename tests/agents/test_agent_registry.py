"""The registry holds the five built-in agents and adds plugins from the `gigforge.agents`
entry point group, skipping any plugin that is broken or claims a taken slug."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from agent_support import SandboxLLM
from gigforge.agents import ENTRY_POINT_GROUP, AgentRegistry, TaskBrief, UnknownAgent
from gigforge.agents.errors import UnsupportedKind

PLUGINS = Path(__file__).parent / "plugins"


def point(name: str, value: str) -> EntryPoint:
    return EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP)


@pytest.fixture
def plugin_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(PLUGINS))


def test_the_five_builtins_are_registered() -> None:
    registry = AgentRegistry.from_entry_points([])
    assert [spec.slug for spec in registry.all()] == [
        "code",
        "data",
        "research",
        "translation",
        "writing",
    ]
    assert registry.for_kind("blog_post").spec.slug == "writing"
    assert registry.for_kind("documentation").spec.slug == "writing"
    assert registry.for_kind("script").spec.slug == "code"
    assert registry.for_kind("translation").spec.slug == "translation"
    assert registry.for_kind("csv").spec.slug == "data"
    assert registry.for_kind("summary").spec.slug == "research"
    assert all(spec.step_cap >= 1 and spec.rubric for spec in registry.all())


def test_an_unknown_slug_or_kind_is_an_error() -> None:
    registry = AgentRegistry.from_entry_points([])
    with pytest.raises(UnknownAgent):
        registry.get("poetry")
    with pytest.raises(UnsupportedKind):
        registry.for_kind("podcast")


async def test_a_plugin_agent_loads_by_entry_point_and_runs(
    plugin_path: None, tmp_path: Path
) -> None:
    registry = AgentRegistry.from_entry_points([point("haiku", "gigforge_haiku_agent:HaikuAgent")])
    assert "haiku" in [spec.slug for spec in registry.all()]
    agent = registry.for_kind("haiku")
    llm = SandboxLLM()
    output = await agent.run(TaskBrief(title="Autumn", kind="haiku"), llm, tmp_path)
    assert output.files[0].name == "haiku.txt"
    assert llm.calls[0].prompt.startswith("Gigforge agent: haiku / step: write")


def test_broken_plugins_are_skipped_and_the_rest_load(plugin_path: None) -> None:
    registry = AgentRegistry.from_entry_points(
        [
            point("missing", "gigforge_no_such_module:Agent"),
            point("haiku", "gigforge_haiku_agent:NotAnAgent"),
            point("poem", "gigforge_haiku_agent:HaikuAgent"),
            point("code", "gigforge_haiku_agent:CodeImpostor"),
            point("haiku", "gigforge_haiku_agent:HaikuAgent"),
        ]
    )
    assert [spec.slug for spec in registry.all()] == [
        "code",
        "data",
        "haiku",
        "research",
        "translation",
        "writing",
    ]
    assert registry.get("code").spec.name == "Code agent"
