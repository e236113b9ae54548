"""The agents Gigforge ships; plugins add more through the `gigforge.agents` entry points."""

from __future__ import annotations

from gigforge.agents.builtin.code import CodeAgent
from gigforge.agents.builtin.data import DataAgent
from gigforge.agents.builtin.research import ResearchAgent
from gigforge.agents.builtin.translation import TranslationAgent
from gigforge.agents.builtin.writing import WritingAgent
from gigforge.agents.spec import Agent

BUILTIN_AGENTS: tuple[type[Agent], ...] = (
    WritingAgent,
    CodeAgent,
    ResearchAgent,
    TranslationAgent,
    DataAgent,
)

__all__ = [
    "BUILTIN_AGENTS",
    "CodeAgent",
    "DataAgent",
    "ResearchAgent",
    "TranslationAgent",
    "WritingAgent",
]
