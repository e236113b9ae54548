"""The courses and question banks, read from the data files in `content/`.

`content/courses.toml` lists each level's modules (id, title, hours, Markdown file); each
`content/level<N>/questions.toml` is that level's bank, every question tied to a module. The
files ship with the package and never change while a process runs, so they are read once.
A bank question names its right answer and its wrong ones; only `service` ever sees which is
which: what leaves the server is `ExamQuestion`, with options in the attempt's shuffled order.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CONTENT_DIR = Path(__file__).parent / "content"


class CatalogError(RuntimeError):
    """The shipped content is inconsistent (a packaging or editing mistake)."""


@dataclass(frozen=True)
class Module:
    module_id: str
    level: int
    number: int
    title: str
    summary: str
    duration_hours: float
    file: Path

    @property
    def content_url(self) -> str:
        """The dashboard's reader page for this module."""
        return f"/courses/level{self.level}/module{self.number}"

    def markdown(self) -> str:
        return self.file.read_text(encoding="utf-8")


@dataclass(frozen=True)
class Question:
    question_id: str
    module_id: str
    prompt: str
    # options[0] is the right answer; an attempt stores its own shuffled order of indexes.
    options: tuple[str, ...]

    @property
    def answer_index(self) -> int:
        return 0


@dataclass(frozen=True)
class Course:
    level: int
    title: str
    summary: str
    modules: tuple[Module, ...]
    questions: tuple[Question, ...]

    @property
    def duration_hours(self) -> float:
        return sum(module.duration_hours for module in self.modules)

    def module(self, module_id: str) -> Module | None:
        return next((m for m in self.modules if m.module_id == module_id), None)

    def module_number(self, number: int) -> Module | None:
        return next((m for m in self.modules if m.number == number), None)

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.question_id == question_id), None)


def _bank(level: int, modules: tuple[Module, ...]) -> tuple[Question, ...]:
    path = CONTENT_DIR / f"level{level}" / "questions.toml"
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    known = {module.module_id for module in modules}
    questions = []
    for item in raw["questions"]:
        wrong = tuple(item["wrong"])
        question = Question(
            question_id=item["id"],
            module_id=item["module"],
            prompt=item["prompt"],
            options=(item["answer"], *wrong),
        )
        if question.module_id not in known:
            raise CatalogError(f"{question.question_id} names unknown module {question.module_id}")
        if len(set(question.options)) != len(question.options) or len(wrong) < 2:
            raise CatalogError(f"{question.question_id} needs distinct options, two wrong at least")
        questions.append(question)
    if len({question.question_id for question in questions}) != len(questions):
        raise CatalogError(f"level {level} has duplicate question ids")
    return tuple(questions)


@cache
def courses() -> dict[int, Course]:
    """Every level's course, by level number."""
    raw = tomllib.loads((CONTENT_DIR / "courses.toml").read_text(encoding="utf-8"))
    found: dict[int, Course] = {}
    for entry in raw["levels"]:
        level = int(entry["level"])
        modules = tuple(
            Module(
                module_id=item["module_id"],
                level=level,
                number=number,
                title=item["title"],
                summary=item["summary"],
                duration_hours=float(item["duration_hours"]),
                file=CONTENT_DIR / item["file"],
            )
            for number, item in enumerate(entry["modules"], start=1)
        )
        for module in modules:
            if module.module_id != f"{level}.{module.number}" or not module.file.is_file():
                raise CatalogError(f"module {module.module_id} is misnamed or has no file")
        found[level] = Course(
            level=level,
            title=entry["title"],
            summary=entry["summary"],
            modules=modules,
            questions=_bank(level, modules),
        )
    return dict(sorted(found.items()))


def levels() -> list[int]:
    return list(courses())


def course(level: int) -> Course | None:
    return courses().get(level)
