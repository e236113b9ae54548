"""What the sandbox language models answer to Gigforge's delivery agents and their judges.

`sandbox_text.sandbox_reply` hands these prompts here, so the demo and the tests can run jobs
offline with any sandbox LLM. A step prompt opens with "Gigforge agent: <slug> / step: <step>"
and carries the brief's `Requirements:` as JSON and its texts in `=== Name ===` sections; the
reply is realistic content that meets the requirements: an article of the asked length with
the asked sections, a small Python module with pytest tests that pass and lint clean, a summary
naming its sources, a cleaned CSV meeting the schema with its report, and a translation.

The translation is a pseudo-translation, not a real one: each paragraph is marked with the
target language (`[de] ...`) and its words are transformed one by one (vowels rotated), enough
to be complete and visibly different from the source. Placeholders the router put in place of
personal data (`[EMAIL_1]`) are kept as they are, as a model would keep them.

A judge prompt ("Gigforge judge: rubric") gets a JSON score object derived from a hash of the
deliverable: between 3 and 4 on a first attempt, between 4 and 5 when the prompt carries a
`=== Feedback ===` section (a retry), and 1 or 2 when the prompt says the deterministic checks
failed, so a demo shows an attempt below a threshold of 4.0 retried with feedback and passing.
No randomness: the same prompt always gets the same words.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# "Key: value" lines; a value may not run past its line.
_FIELD = re.compile(r"^\s*([A-Za-z][A-Za-z ]{1,40}):[ \t]*(.*?)\s*$", re.M)
_WORD = re.compile(r"\S+")

JUDGE_HEADER = "Gigforge judge: rubric"
_AGENT_HEADER = re.compile(r"^Gigforge agent: ([a-z][a-z0-9_-]*) / step: ([\w-]+)[ \t]*$")
_SECTION = re.compile(r"^=== (.+?) ===[ \t]*$", re.M)
_DEFAULT_WORDS = 450
_DEFAULT_SECTIONS = {
    "documentation": ("Overview", "Installation", "Usage", "Troubleshooting"),
}
_ARTICLE_SECTIONS = ("Introduction", "Background", "Approach", "Conclusion")
_SENTENCES = (
    "{section} matters because it shapes how readers approach {topic}.",
    "A practical starting point is to list the goals, the constraints and the people involved.",
    "Each choice here has a cost, so it helps to write down why it was made.",
    "Small, verifiable steps make progress visible and keep mistakes cheap to fix.",
    "Concrete examples turn general advice into something a reader can apply the same day.",
    "Where the details vary between teams, the underlying principle stays the same.",
    "Measuring the result, even roughly, shows whether the change was worth the effort.",
    "It is worth revisiting this part once the first version has been used for a while.",
)
_MASKED = re.compile(r"\[[A-Z]+_\d+\]")
_VOWELS = str.maketrans("aeiouAEIOU", "eiouaEIOUA")


@dataclass(frozen=True)
class AgentPrompt:
    """One agent step as the sandbox reads it."""

    agent: str
    step: str
    title: str = ""
    kind: str = ""
    requirements: dict[str, Any] = field(default_factory=dict)
    sections: dict[str, str] = field(default_factory=dict)

    def inputs(self) -> dict[str, str]:
        return {
            name.removeprefix("Input: "): text
            for name, text in self.sections.items()
            if name.startswith("Input: ")
        }


def parse_agent_prompt(prompt: str) -> AgentPrompt | None:
    first, _, rest = prompt.partition("\n")
    header = _AGENT_HEADER.match(first)
    if header is None:
        return None
    head, sections = _split_sections(rest)
    fields = {key.strip().casefold(): value for key, value in _FIELD.findall(head)}
    return AgentPrompt(
        agent=header.group(1),
        step=header.group(2),
        title=fields.get("title", ""),
        kind=fields.get("kind", ""),
        requirements=_json_object(fields.get("requirements", "")),
        sections=sections,
    )


def _split_sections(text: str) -> tuple[str, dict[str, str]]:
    marks = list(_SECTION.finditer(text))
    head = text[: marks[0].start()] if marks else text
    sections: dict[str, str] = {}
    for index, mark in enumerate(marks):
        end = marks[index + 1].start() if index + 1 < len(marks) else len(text)
        sections.setdefault(mark.group(1).strip(), text[mark.end() : end].strip("\n"))
    return head, sections


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _target_words(requirements: dict[str, Any], default: int = _DEFAULT_WORDS) -> int:
    low, high = requirements.get("min_words"), requirements.get("max_words")
    if isinstance(low, int) and isinstance(high, int):
        return (low + high) // 2
    if isinstance(low, int):
        return low + 40
    if isinstance(high, int):
        return max(1, high * 3 // 4)
    return default


def _sections(step: AgentPrompt) -> list[str]:
    """The required sections, topped up from the kind's usual ones to at least three."""
    required = [str(name) for name in step.requirements.get("required_sections") or []]
    taken = {name.casefold() for name in required}
    extra = [
        name
        for name in _DEFAULT_SECTIONS.get(step.kind, _ARTICLE_SECTIONS)
        if name.casefold() not in taken
    ]
    return required + extra[: max(0, 3 - len(required))]


def _document(title: str, parts: list[tuple[str, list[str]]], target: int) -> str:
    """A Markdown document of exactly `target` words (or its fixed text, if longer): a title,
    then each section's fixed paragraphs, padded in turn with plain sentences."""
    topic = title[0].lower() + title[1:] if title else "the work"
    blocks: list[list[str]] = [[text.strip() for text in fixed] for _, fixed in parts]
    fixed_words = _word_count(f"# {title}") + sum(
        _word_count(f"## {name}") + sum(_word_count(text) for text in block)
        for (name, _), block in zip(parts, blocks, strict=True)
    )
    missing = max(0, target - fixed_words)
    # Sections with text of their own (a list of sources, say) are not padded.
    open_sections = [index for index, block in enumerate(blocks) if not block] or list(
        range(len(blocks))
    )
    share = dict.fromkeys(range(len(blocks)), 0)
    for position, index in enumerate(open_sections):
        share[index] = missing // len(open_sections) + (
            1 if position < missing % len(open_sections) else 0
        )
    for index, ((name, _), block) in enumerate(zip(parts, blocks, strict=True)):
        words: list[str] = []
        number = index
        while len(words) < share[index]:
            words += _SENTENCES[number % len(_SENTENCES)].format(section=name, topic=topic).split()
            number += 1
        if words:
            padding = words[: share[index]]
            padding[-1] = padding[-1].rstrip(",.") + "."
            block.append(" ".join(padding))
    body = "\n\n".join(
        f"## {name}\n\n" + "\n\n".join(block)
        for (name, _), block in zip(parts, blocks, strict=True)
    )
    return f"# {title}\n\n{body}\n"


def _writing_reply(step: AgentPrompt) -> str:
    sections = _sections(step)
    if step.step == "outline":
        return f"# {step.title}\n\n" + "\n".join(f"- {name}" for name in sections)
    return _document(
        step.title, [(name, []) for name in sections], _target_words(step.requirements)
    )


def _research_reply(step: AgentPrompt) -> str:
    inputs = step.inputs()
    firsts = {name: _first_sentence(text) for name, text in inputs.items()}
    if step.step == "notes":
        return "\n".join(f"- {name}: {sentence}" for name, sentence in firsts.items())
    parts: list[tuple[str, list[str]]] = []
    for name in _sections(step):
        if name.casefold() == "sources":
            parts.append((name, ["\n".join(f"- {source}" for source in inputs) or "- the brief"]))
        elif name.casefold() == "key points":
            parts.append((name, ["\n".join(f"- {sentence}" for sentence in firsts.values())]))
        else:
            parts.append((name, []))
    # The sources list goes last, so padding sentences never follow it.
    parts.sort(key=lambda part: part[0].casefold() == "sources")
    return _document(step.title, parts, _target_words(step.requirements, default=250))


def _first_sentence(text: str) -> str:
    flat = " ".join(text.split())
    match = re.match(r"(.+?[.!?])(\s|$)", flat)
    return match.group(1) if match else flat


def _code_reply(step: AgentPrompt) -> str:
    if step.step == "design":
        return (
            "Module solution.py: slugify(text), word_frequencies(text, top) and "
            "chunked(items, size), with a command-line entry point.\n"
            "Tests test_solution.py: one behaviour per test, including the error case."
        )
    topic = " ".join(step.title.split())[:50] or "the brief"
    return (
        f"```python file=solution.py\n{_SOLUTION.format(topic=topic)}```\n\n"
        f"```python file=test_solution.py\n{_SOLUTION_TESTS}```\n"
    )


_SOLUTION = '''"""Small text utilities for: {topic}."""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator

_NON_WORD = re.compile(r"[^a-z0-9]+")
_WORD = re.compile(r"[a-z0-9']+")


def slugify(text: str) -> str:
    """Lower-case words joined by hyphens, for file names and URLs."""
    return _NON_WORD.sub("-", text.lower()).strip("-")


def word_frequencies(text: str, top: int = 10) -> list[tuple[str, int]]:
    """The `top` most common words, most frequent first, ties alphabetical."""
    counts = Counter(_WORD.findall(text.lower()))
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top]


def chunked(items: Iterable[str], size: int) -> Iterator[list[str]]:
    """Consecutive lists of `size` items; the last one may be shorter."""
    if size < 1:
        raise ValueError("size must be at least 1")
    batch: list[str] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def main(argv: list[str] | None = None) -> int:
    text = " ".join(sys.argv[1:] if argv is None else argv)
    for word, count in word_frequencies(text):
        print(f"{{count}}\\t{{word}}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
'''

_SOLUTION_TESTS = """import pytest

from solution import chunked, main, slugify, word_frequencies


def test_slugify_joins_lowercase_words_with_hyphens():
    assert slugify("  Hello, World! ") == "hello-world"


def test_word_frequencies_lists_the_most_common_first():
    assert word_frequencies("b a b c b a", top=2) == [("b", 3), ("a", 2)]


def test_chunked_keeps_the_remainder():
    assert list(chunked(["a", "b", "c"], 2)) == [["a", "b"], ["c"]]


def test_chunked_refuses_a_size_below_one():
    with pytest.raises(ValueError, match="at least 1"):
        list(chunked([], 0))


def test_main_prints_counts(capsys):
    assert main(["to", "be", "or", "not", "to", "be"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "2\\tbe"
"""


def _translation_reply(step: AgentPrompt) -> str:
    language = str(step.requirements.get("language_to") or "xx")
    return "\n\n".join(
        f"[{language}] " + " ".join(_pseudo_translated(word) for word in paragraph.split())
        for paragraph in re.split(r"\n\s*\n", step.sections.get("Source", "").strip())
        if paragraph.strip()
    )


def _pseudo_translated(word: str) -> str:
    return word if _MASKED.search(word) else word.translate(_VOWELS)


def _data_reply(step: AgentPrompt) -> str:
    columns = {str(k): str(v) for k, v in (step.requirements.get("columns") or {}).items()}
    required = {str(name) for name in step.requirements.get("required") or []}
    table = next(iter(step.inputs().values()), "")
    kept, seen = clean_rows(table, columns, required)
    if step.step == "clean":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(kept)
        return f"```csv\n{buffer.getvalue()}```"
    dropped = seen - len(kept)
    lines = [
        f"# Data cleaning report: {step.title}",
        "",
        "## Summary",
        "",
        f"{seen} rows read, {len(kept)} kept, {dropped} removed for missing required values, "
        "values that do not fit their column's type, or duplicates.",
        "",
        "## Columns",
        "",
        *(
            f"- {name} ({kind}): {sum(1 for row in kept if row[index])} values"
            for index, (name, kind) in enumerate(columns.items())
        ),
        "",
        "## Changes",
        "",
        "Whitespace was trimmed, headers matched to the schema, numbers, dates and "
        "yes/no values normalised, and e-mail addresses lower-cased.",
    ]
    return "\n".join(lines)


def clean_rows(
    table: str, columns: dict[str, str], required: set[str]
) -> tuple[list[list[str]], int]:
    """The rows of a CSV table fitted to a schema, and how many rows were read."""
    reader = csv.reader(io.StringIO(table.strip()))
    header = [_key(name) for name in next(reader, [])]
    positions = {name: header.index(_key(name)) for name in columns if _key(name) in header}
    kept: list[list[str]] = []
    seen = 0
    for raw in reader:
        if not any(value.strip() for value in raw):
            continue
        seen += 1
        row = [
            _coerced(raw[positions[name]] if name in positions and positions[name] < len(raw)
                     else "", kind)
            for name, kind in columns.items()
        ]  # fmt: skip
        if any(not value for name, value in zip(columns, row, strict=True) if name in required):
            continue
        if row not in kept:
            kept.append(row)
    return kept, seen


def _key(name: str) -> str:
    return re.sub(r"[\s-]+", "_", name.strip().casefold())


def _coerced(value: str, kind: str) -> str:
    text = " ".join(value.split())
    if not text:
        return ""
    if _MASKED.fullmatch(text):
        # The router masked personal data before the prompt left; it restores the value in
        # the answer, so the placeholder is kept as it is.
        return text
    coerce = _COERCE.get(kind)
    return coerce(text) if coerce else text


def _number(text: str, kind: str) -> str:
    compact = text.replace(",", "").replace(" ", "").lstrip("$€£")
    try:
        number = float(compact)
    except ValueError:
        return ""
    if kind == "int":
        return str(int(number)) if number.is_integer() else ""
    return repr(number)


def _date(text: str) -> str:
    for pattern in ("%Y-%m-%d", "%Y/%m/%d", "%d/%m/%Y", "%d.%m.%Y", "%b %d %Y", "%d %B %Y"):
        try:
            return datetime.strptime(text.replace(",", ""), pattern).date().isoformat()
        except ValueError:
            continue
    return ""


def _bool(text: str) -> str:
    lowered = text.casefold()
    if lowered in ("true", "yes", "y", "1"):
        return "true"
    if lowered in ("false", "no", "n", "0"):
        return "false"
    return ""


def _email(text: str) -> str:
    lowered = text.casefold()
    return lowered if re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", lowered) else ""


def _datetime(text: str) -> str:
    try:
        return datetime.fromisoformat(text).isoformat()
    except ValueError:
        day = _date(text)
        return f"{day}T00:00:00" if day else ""


_COERCE: dict[str, Callable[[str], str]] = {
    "int": lambda text: _number(text, "int"),
    "float": lambda text: _number(text, "float"),
    "date": _date,
    "datetime": _datetime,
    "bool": _bool,
    "email": _email,
}


def _word_count(text: str) -> int:
    return len(_WORD.findall(text))


_AGENT_WRITERS: dict[str, Callable[[AgentPrompt], str]] = {
    "writing": _writing_reply,
    "research": _research_reply,
    "code": _code_reply,
    "translation": _translation_reply,
    "data": _data_reply,
}


def agent_reply(prompt: str) -> str | None:
    """The reply to an agent's step or a judge's prompt; None for any other prompt."""
    if prompt.startswith(JUDGE_HEADER):
        return judge_reply(prompt)
    step = parse_agent_prompt(prompt)
    if step is None or step.agent not in _AGENT_WRITERS:
        return None
    return _AGENT_WRITERS[step.agent](step)


def judge_reply(prompt: str) -> str:
    """Deterministic rubric scores: 1-2 when the checks failed, 3-4 on a first attempt (the
    first criterion always 3, so the mean stays below 4.0), 4-5 on a retry with feedback."""
    head, sections = _split_sections(prompt)
    fields = {key.strip().casefold(): value for key, value in _FIELD.findall(head)}
    try:
        listed = json.loads(fields.get("criteria", "[]"))
    except json.JSONDecodeError:
        listed = []
    criteria = [str(item) for item in listed] if isinstance(listed, list) else []
    checks = fields.get("checks", "passed")
    retried = "Feedback" in sections
    deliverable = "\n".join(
        text for name, text in sections.items() if name.startswith("Deliverable")
    )
    seed = hashlib.sha256(f"{deliverable}\n{fields.get('sample', '1')}".encode()).hexdigest()
    scores: dict[str, int] = {}
    for index, criterion in enumerate(criteria):
        bit = int(hashlib.sha256(f"{seed}:{criterion}".encode()).hexdigest(), 16) % 2
        if checks.startswith("failed"):
            scores[criterion] = 1 + bit
        elif retried:
            scores[criterion] = 4 + bit
        else:
            scores[criterion] = 3 if index == 0 else 3 + bit
    weakest = min(scores, key=lambda name: scores[name]) if scores else "the brief"
    if checks.startswith("failed"):
        failing = checks.removeprefix("failed: ")
        reasons = f"The deliverable fails its checks ({failing}); fix those first."
    elif retried:
        reasons = f"The earlier feedback is addressed; {weakest} could still be sharper."
    else:
        reasons = f"Sound but generic: add concrete examples and improve {weakest} before delivery."
    return json.dumps({"scores": scores, "reasons": reasons})
