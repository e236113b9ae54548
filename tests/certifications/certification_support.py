"""Helpers for certification tests: the right answers come from the bank files, never from
anything the server sent."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from factories import Account
from gigforge.accounts import profile as profile_module
from gigforge.certifications import catalog
from gigforge.certifications import service as certification_service_module
from gigforge.kit.clock import utcnow


class Clock:
    """The certifications domain's "now", moved by the test."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, span: timedelta) -> None:
        self.now += span


def install_clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The certifications service's clock, and the profile's (which judges how long a cached
    `certification_level` holds)."""
    clock = Clock()
    monkeypatch.setattr(certification_service_module, "utcnow", clock)
    monkeypatch.setattr(profile_module, "utcnow", clock)
    return clock


def right_answer(level: int, question: dict[str, Any]) -> str:
    """The option id whose text is the bank's answer to this question."""
    found = catalog.course(level)
    assert found is not None
    banked = found.question(question["question_id"])
    assert banked is not None
    return next(o["option_id"] for o in question["options"] if o["text"] == banked.options[0])


def wrong_answer(level: int, question: dict[str, Any]) -> str:
    right = right_answer(level, question)
    return next(o["option_id"] for o in question["options"] if o["option_id"] != right)


def answers(
    level: int, attempt: dict[str, Any], *, right: int | None = None
) -> list[dict[str, str]]:
    """Answers to every question: the first `right` right (all when None), the rest wrong."""
    chosen = []
    for index, question in enumerate(attempt["questions"]):
        pick = right_answer if right is None or index < right else wrong_answer
        chosen.append({"question_id": question["question_id"], "option_id": pick(level, question)})
    return chosen


async def start(client: httpx.AsyncClient, account: Account, level: int) -> httpx.Response:
    return await client.post(f"/api/v1/certifications/exams/{level}/start", headers=account.headers)


async def submit(
    client: httpx.AsyncClient,
    account: Account,
    level: int,
    attempt: dict[str, Any],
    *,
    right: int | None = None,
) -> httpx.Response:
    return await client.post(
        f"/api/v1/certifications/exams/{level}/submit",
        json={"attempt_id": attempt["attempt_id"], "answers": answers(level, attempt, right=right)},
        headers=account.headers,
    )


async def pass_level(client: httpx.AsyncClient, account: Account, level: int) -> dict[str, Any]:
    started = await start(client, account, level)
    assert started.status_code == 201, started.text
    graded = await submit(client, account, level, started.json())
    assert graded.status_code == 200, graded.text
    assert graded.json()["status"] == "passed"
    result: dict[str, Any] = graded.json()
    return result
