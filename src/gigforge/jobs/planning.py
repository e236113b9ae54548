"""Which agent does a won job's work, and with which requirements: a job's first tasks.

The plan reads the job's title and description for the kind of work asked (code, translation,
data, research, writing) and gives each job one task for that kind's agent, with requirements
the agent's deterministic checks hold it to. The user can assign more tasks to any agent
(`POST /agents/task/assign`); the plan is the default, not a limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_KINDS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    # (agent, kind, words that ask for it), most specific first
    ("translation", "translation", ("translat", "locali", "interpret")),
    ("code", "script", ("python", "script", "scraper", "automation", "program", "api ", "bot")),
    ("data", "csv_cleaning", ("csv", "spreadsheet", "excel", "data entry", "data clean", "json")),
    ("research", "summary", ("research", "summar", "report", "analysis", "market study")),
    ("writing", "documentation", ("documentation", "manual", "readme", "guide")),
    ("writing", "article", ("article", "blog", "post", "copy", "content", "write", "writer")),
)
_LANGUAGES = {
    "spanish": "es",
    "french": "fr",
    "german": "de",
    "italian": "it",
    "portuguese": "pt",
    "russian": "ru",
    "english": "en",
}
_WORDS = re.compile(r"(\d{3,5})\s*(?:-|to)?\s*(?:\d{3,5}\s*)?words", re.I)


@dataclass(frozen=True)
class PlannedTask:
    agent: str
    kind: str
    description: str
    requirements: dict[str, Any] = field(default_factory=dict)


def plan(title: str, description: str) -> list[PlannedTask]:
    """One task for the agent the job's words ask for (writing when nothing else matches)."""
    text = f"{title}\n{description}".casefold()
    agent, kind = "writing", "article"
    for candidate, candidate_kind, words in _KINDS:
        if any(word in text for word in words):
            agent, kind = candidate, candidate_kind
            break
    brief = f"{title}\n\n{description}".strip()
    return [PlannedTask(agent, kind, brief[:4000], _requirements(agent, text))]


def _requirements(agent: str, text: str) -> dict[str, Any]:
    if agent == "writing":
        found = _WORDS.search(text)
        words = int(found.group(1)) if found else 600
        return {
            "min_words": max(150, int(words * 0.8)),
            "max_words": int(words * 1.3) + 50,
            "required_sections": ["Introduction", "Conclusion"],
        }
    if agent == "translation":
        target = next((code for name, code in _LANGUAGES.items() if f"into {name}" in text), None)
        target = target or next(
            (code for name, code in _LANGUAGES.items() if name in text and code != "en"), "es"
        )
        return {"language_from": "en", "language_to": target}
    if agent == "research":
        return {"min_words": 200, "max_words": 900}
    return {}
