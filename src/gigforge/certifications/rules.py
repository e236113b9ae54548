"""The exam rules, in one place so the API, the dashboard, the CLI and the docs agree.

- A full exam draws QUESTIONS_PER_EXAM questions from the level's bank, spread over its modules,
  with each question's options shuffled; it must be submitted within its time limit.
- A renewal exam is shorter (RENEWAL_QUESTIONS, RENEWAL_TIME_LIMIT) and is open from
  RENEWAL_OPENS before the certification expires until RENEWAL_GRACE after; passing it extends
  the certification by VALIDITY from its old expiry (or from now, when renewed after it).
- PASS_MARK_PERCENT of the answers must be right. A failed or expired attempt starts a
  COOL_DOWN before the next attempt at that level.
- SUBMIT_GRACE covers the time an answer takes to travel once the timer reaches zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

VALIDITY = timedelta(days=365)
COOL_DOWN = timedelta(hours=24)
RENEWAL_OPENS = timedelta(days=60)
RENEWAL_GRACE = timedelta(days=90)
SUBMIT_GRACE = timedelta(seconds=5)
PASS_MARK_PERCENT = 80


class AttemptKind(StrEnum):
    exam = "exam"
    renewal = "renewal"


@dataclass(frozen=True)
class ExamRules:
    kind: AttemptKind
    questions: int
    time_limit: timedelta
    pass_mark_percent: int = PASS_MARK_PERCENT


FULL_EXAM = ExamRules(AttemptKind.exam, questions=10, time_limit=timedelta(minutes=20))
RENEWAL_EXAM = ExamRules(AttemptKind.renewal, questions=5, time_limit=timedelta(minutes=10))
RULES = {AttemptKind.exam: FULL_EXAM, AttemptKind.renewal: RENEWAL_EXAM}

# What each level unlocks; `service.require_level` enforces them where the action happens.
GATES: dict[str, int] = {
    "turn on auto-approve rules": 1,
    "let AI agents deliver work without your review": 2,
}
AUTO_APPROVE_LEVEL = 1
AUTONOMOUS_DELIVERY_LEVEL = 2


def passed(correct: int, total: int, pass_mark_percent: int) -> bool:
    return total > 0 and correct * 100 >= pass_mark_percent * total


def score_percent(correct: int, total: int) -> int:
    return round(correct * 100 / total) if total else 0
