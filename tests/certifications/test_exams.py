"""Exams over the API: drawn and graded on the server, answers never sent before grading, the
time limit and the cool-down held by the server's clock, levels in order."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from certification_support import (
    Clock,
    install_clock,
    pass_level,
    right_answer,
    start,
    submit,
)
from fastapi import FastAPI

from factories import register, stored_events
from gigforge.certifications import catalog, rules


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return install_clock(monkeypatch)


def _answer_texts(level: int) -> set[str]:
    course = catalog.course(level)
    assert course is not None
    return {question.options[0] for question in course.questions}


def _assert_no_answer_marker(body: dict[str, object]) -> None:
    text = json.dumps(body).lower()
    for marker in ("correct", "answer_index", "is_right", "right_answer", '"answer"'):
        assert marker not in text, marker


async def test_start_draws_questions_and_sends_no_answer(client: httpx.AsyncClient) -> None:
    account = await register(client)
    started = await start(client, account, 1)
    assert started.status_code == 201, started.text
    attempt = started.json()
    _assert_no_answer_marker(attempt)
    assert attempt["level"] == 1
    assert attempt["kind"] == "exam"
    assert len(attempt["questions"]) == rules.FULL_EXAM.questions
    assert len({q["question_id"] for q in attempt["questions"]}) == rules.FULL_EXAM.questions
    assert 0 < attempt["seconds_left"] <= rules.FULL_EXAM.time_limit.total_seconds()
    # Every module of the course is represented in the draw.
    modules = {module.module_id for module in catalog.courses()[1].modules}
    assert {q["module_id"] for q in attempt["questions"]} == modules
    for question in attempt["questions"]:
        # Option ids follow the shown order, so an id says nothing about being right.
        assert [o["option_id"] for o in question["options"]] == list(
            "abcd"[: len(question["options"])]
        )

    # Reading it back (start again resumes it) and the other reads give nothing more away.
    again = await start(client, account, 1)
    assert again.json()["attempt_id"] == attempt["attempt_id"]
    assert again.json()["questions"] == attempt["questions"]
    for path in (
        "/api/v1/users/me/certifications",
        "/api/v1/certifications/exams/1/results",
        "/api/v1/certifications/courses/1",
    ):
        response = await client.get(path, headers=account.headers)
        assert response.status_code == 200, response.text
        _assert_no_answer_marker(response.json())
        assert not _answer_texts(1) & set(json.dumps(response.json()).split('"'))


async def test_passing_grants_the_level_on_the_profile_and_publishes_an_event(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    account = await register(client)
    me = await client.get("/api/v1/users/me", headers=account.headers)
    assert me.json()["certification_level"] == 0

    result = await pass_level(client, account, 1)
    assert result["passed"] is True
    assert result["correct"] == result["total"] == rules.FULL_EXAM.questions
    assert result["score_percent"] == 100
    assert result["certification_expires_at"] is not None
    assert result["review_modules"] == []
    assert all(q["correct"] for q in result["questions"])

    me = await client.get("/api/v1/users/me", headers=account.headers)
    assert me.json()["certification_level"] == 1
    mine = (await client.get("/api/v1/users/me/certifications", headers=account.headers)).json()
    assert mine["certification_level"] == 1
    level_one = mine["certifications"][0]
    assert level_one["status"] == "active"
    assert level_one["can_start_exam"] is False
    assert level_one["can_renew"] is False
    assert mine["certifications"][1]["can_start_exam"] is True

    events = await stored_events(app, "certification.")
    assert [event.type for event in events] == ["certification.passed"]
    assert events[0].payload["level"] == 1
    assert str(events[0].user_id) == account.user_id

    again = await start(client, account, 1)
    assert again.status_code == 409
    assert again.json()["type"] == "urn:gigforge:problem:already-certified"


async def test_a_score_under_the_pass_mark_fails_and_names_modules_to_review(
    client: httpx.AsyncClient,
) -> None:
    account = await register(client)
    attempt = (await start(client, account, 1)).json()
    graded = await submit(client, account, 1, attempt, right=7)
    assert graded.status_code == 200, graded.text
    result = graded.json()
    assert result["status"] == "failed"
    assert result["passed"] is False
    assert (result["correct"], result["total"], result["score_percent"]) == (7, 10, 70)
    wrong_modules = {q["module_id"] for q in attempt["questions"][7:]}
    assert set(result["review_modules"]) == wrong_modules
    assert result["next_attempt_at"] is not None
    me = await client.get("/api/v1/users/me", headers=account.headers)
    assert me.json()["certification_level"] == 0


async def test_eight_of_ten_is_the_pass_mark(client: httpx.AsyncClient) -> None:
    account = await register(client)
    attempt = (await start(client, account, 1)).json()
    result = (await submit(client, account, 1, attempt, right=8)).json()
    assert result["status"] == "passed"
    assert result["score_percent"] == 80


async def test_an_attempt_is_graded_once(client: httpx.AsyncClient) -> None:
    account = await register(client)
    attempt = (await start(client, account, 1)).json()
    first = await submit(client, account, 1, attempt, right=2)
    assert first.json()["status"] == "failed"
    second = await submit(client, account, 1, attempt)
    assert second.status_code == 409
    assert second.json()["type"] == "urn:gigforge:problem:no-exam-in-progress"


async def test_answers_to_other_questions_or_options_are_refused_and_leave_the_attempt_open(
    client: httpx.AsyncClient,
) -> None:
    account = await register(client)
    attempt = (await start(client, account, 1)).json()
    first = attempt["questions"][0]["question_id"]
    for answers in (
        [{"question_id": "L1-99", "option_id": "a"}],
        [{"question_id": first, "option_id": "z"}],
        [{"question_id": first, "option_id": "a"}, {"question_id": first, "option_id": "b"}],
    ):
        refused = await client.post(
            "/api/v1/certifications/exams/1/submit",
            json={"attempt_id": attempt["attempt_id"], "answers": answers},
            headers=account.headers,
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["type"] == "urn:gigforge:problem:invalid-exam-answers"
    graded = await submit(client, account, 1, attempt)
    assert graded.json()["status"] == "passed"


async def test_an_attempt_belongs_to_its_user(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    other = await register(client)
    attempt = (await start(client, owner, 1)).json()
    stolen = await submit(client, other, 1, attempt)
    assert stolen.status_code == 409
    assert (await submit(client, owner, 1, attempt)).json()["status"] == "passed"


async def test_a_submit_after_the_time_limit_is_expired_whatever_the_answers(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    account = await register(client)
    attempt = (await start(client, account, 1)).json()
    clock.advance(rules.FULL_EXAM.time_limit + rules.SUBMIT_GRACE + timedelta(seconds=1))
    late = await submit(client, account, 1, attempt)
    assert late.status_code == 200, late.text
    result = late.json()
    assert result["status"] == "expired"
    assert result["passed"] is False
    assert result["correct"] == 0
    me = await client.get("/api/v1/users/me", headers=account.headers)
    assert me.json()["certification_level"] == 0


async def test_a_submit_just_inside_the_time_limit_is_graded(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    account = await register(client)
    attempt = (await start(client, account, 1)).json()
    clock.advance(rules.FULL_EXAM.time_limit)
    assert (await submit(client, account, 1, attempt)).json()["status"] == "passed"


async def test_an_abandoned_attempt_is_not_resumed_after_its_deadline(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    account = await register(client)
    attempt = (await start(client, account, 1)).json()
    clock.advance(rules.FULL_EXAM.time_limit + timedelta(minutes=1))
    cooling = await start(client, account, 1)
    assert cooling.status_code == 409
    assert cooling.json()["type"] == "urn:gigforge:problem:exam-cooling-down"
    clock.advance(rules.COOL_DOWN)
    fresh = await start(client, account, 1)
    assert fresh.status_code == 201
    assert fresh.json()["attempt_id"] != attempt["attempt_id"]


async def test_a_retake_waits_for_the_cool_down(client: httpx.AsyncClient, clock: Clock) -> None:
    account = await register(client)
    attempt = (await start(client, account, 1)).json()
    failed = (await submit(client, account, 1, attempt, right=0)).json()
    assert failed["status"] == "failed"

    refused = await start(client, account, 1)
    assert refused.status_code == 409
    assert refused.json()["type"] == "urn:gigforge:problem:exam-cooling-down"
    assert refused.json()["next_attempt_at"] == failed["next_attempt_at"].replace("Z", "+00:00")
    mine = (await client.get("/api/v1/users/me/certifications", headers=account.headers)).json()
    assert mine["certifications"][0]["can_start_exam"] is False

    clock.advance(rules.COOL_DOWN - timedelta(minutes=1))
    assert (await start(client, account, 1)).status_code == 409
    clock.advance(timedelta(minutes=1, seconds=1))
    retake = await start(client, account, 1)
    assert retake.status_code == 201
    assert (await submit(client, account, 1, retake.json())).json()["status"] == "passed"


async def test_each_level_needs_the_one_below_held_and_unexpired(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    account = await register(client)
    refused = await start(client, account, 2)
    assert refused.status_code == 403
    assert refused.json()["type"] == "urn:gigforge:problem:certification-required"
    assert refused.json()["required_level"] == 1

    await pass_level(client, account, 1)
    await pass_level(client, account, 2)
    assert (await start(client, account, 3)).status_code == 201
    me = await client.get("/api/v1/users/me", headers=account.headers)
    assert me.json()["certification_level"] == 2

    clock.advance(rules.VALIDITY + timedelta(days=1))
    me = await client.get("/api/v1/users/me", headers=account.headers)
    assert me.json()["certification_level"] == 0
    assert (await start(client, account, 2)).json()[
        "type"
    ] == "urn:gigforge:problem:certification-required"


async def test_unknown_levels_are_404(client: httpx.AsyncClient) -> None:
    account = await register(client)
    for response in (
        await start(client, account, 4),
        await client.get("/api/v1/certifications/courses/0", headers=account.headers),
        await client.get("/api/v1/certifications/exams/9/results", headers=account.headers),
    ):
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["type"] == "urn:gigforge:problem:unknown-certification-level"


async def test_draws_differ_between_attempts_and_options_are_shuffled(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    account = await register(client)
    draws = []
    right_positions: set[str] = set()
    for _ in range(6):
        attempt = (await start(client, account, 1)).json()
        draws.append(tuple(q["question_id"] for q in attempt["questions"]))
        right_positions |= {right_answer(1, q) for q in attempt["questions"]}
        await submit(client, account, 1, attempt, right=0)
        clock.advance(rules.COOL_DOWN + timedelta(seconds=1))
    assert len(set(draws)) > 1
    # Over 60 questions the right option sits in every position.
    assert right_positions == {"a", "b", "c", "d"}


async def test_results_list_finished_attempts_newest_first(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    account = await register(client)
    first = (await start(client, account, 1)).json()
    await submit(client, account, 1, first, right=1)
    clock.advance(rules.COOL_DOWN + timedelta(seconds=1))
    second = (await start(client, account, 1)).json()
    results = await client.get("/api/v1/certifications/exams/1/results", headers=account.headers)
    body = results.json()
    assert body["in_progress"] is True
    assert [r["attempt_id"] for r in body["results"]] == [first["attempt_id"]]
    await submit(client, account, 1, second)
    body = (
        await client.get("/api/v1/certifications/exams/1/results", headers=account.headers)
    ).json()
    assert body["in_progress"] is False
    assert [r["status"] for r in body["results"]] == ["passed", "failed"]
