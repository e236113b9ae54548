"""The sandbox models answer a proposal brief with a cover letter, the same on every provider."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from gigforge.integrations.anthropic import sandbox as anthropic_sandbox
from gigforge.integrations.framework.sandbox_text import (
    limit_words,
    parse_brief,
    sandbox_reply,
    word_count,
)
from gigforge.integrations.gemini import sandbox as gemini_sandbox
from gigforge.integrations.ollama import sandbox as ollama_sandbox
from gigforge.integrations.openai import sandbox as openai_sandbox

BRIEF = "\n".join(
    (
        "Job title: Booking API in Django",
        "Platform: freelancer",
        "Budget: USD 1,400.00 fixed price",
        "Job skills: python, django, postgresql, react",
        "Job description: We need a REST API for clinic bookings.",
        "Client: Northwind Clinics",
        "Freelancer: Ada Ruiz; skills: django, python, go",
    )
)


def test_a_proposal_brief_gets_a_cover_letter_from_its_own_facts() -> None:
    letter = sandbox_reply(BRIEF)

    assert letter.startswith("Hello Northwind Clinics,\n\n")
    assert 'Thank you for posting "Booking API in Django".' in letter
    assert "The work calls for python and django," in letter  # the skills both sides have
    assert "react" not in letter
    assert "postgresql" not in letter
    assert "(USD 1,400.00 fixed price)" in letter
    assert letter.endswith("Best regards,\nAda Ruiz")
    assert "Echo" not in letter
    assert "Job title:" not in letter


def test_the_same_brief_always_gets_the_same_letter() -> None:
    assert sandbox_reply(BRIEF) == sandbox_reply(BRIEF)


def test_a_brief_without_profile_skills_names_the_jobs_skills() -> None:
    brief = parse_brief("Job title: Logo\nJob skills: figma\nFreelancer: Ada; skills: not stated")

    assert brief is not None
    assert brief.matching_skills == ("figma",)
    assert "The work calls for figma," in sandbox_reply("Job title: Logo\nJob skills: figma")


def test_a_brief_without_budget_or_client_leaves_them_out() -> None:
    letter = sandbox_reply("Job title: Logo design")

    assert letter.startswith("Hello,\n\n")
    assert "budget" not in letter
    assert letter.endswith("Best regards")


def test_anything_else_gets_a_reply_restating_the_request() -> None:
    assert parse_brief("hello there") is None
    assert sandbox_reply("hello   there") == "Re: hello there"


def test_a_word_limit_cuts_the_reply_and_keeps_its_layout() -> None:
    letter = sandbox_reply(BRIEF)

    assert limit_words(letter, None) == (letter, word_count(letter), False)
    cut, words, was_cut = limit_words(letter, 4)
    assert (cut, words, was_cut) == ("Hello Northwind Clinics,\n\nThank", 4, True)
    assert limit_words(letter, 0) == ("", 0, True)


def _openai(reply: dict[str, Any]) -> str:
    text: str = reply["choices"][0]["message"]["content"]
    return text


def _anthropic(reply: dict[str, Any]) -> str:
    text: str = reply["content"][0]["text"]
    return text


def _gemini(reply: dict[str, Any]) -> str:
    text: str = reply["candidates"][0]["content"]["parts"][0]["text"]
    return text


def _ollama(reply: dict[str, Any]) -> str:
    text: str = reply["message"]["content"]
    return text


PROVIDERS: list[tuple[str, Any, str, dict[str, str], dict[str, Any], Callable[..., str]]] = [
    (
        "openai",
        openai_sandbox.create_sandbox(),
        "/v1/chat/completions",
        {"Authorization": f"Bearer {openai_sandbox.SANDBOX_API_KEY}"},
        {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": BRIEF}]},
        _openai,
    ),
    (
        "anthropic",
        anthropic_sandbox.create_sandbox(),
        "/v1/messages",
        {"x-api-key": anthropic_sandbox.SANDBOX_API_KEY, "anthropic-version": "2026-10-21"},
        {
            "model": "claude-haiku-4-5",
            "max_tokens": 400,
            "messages": [{"role": "user", "content": BRIEF}],
        },
        _anthropic,
    ),
    (
        "gemini",
        gemini_sandbox.create_sandbox(),
        "/v1beta/models/gemini-2.5-flash:generateContent",
        {"x-goog-api-key": gemini_sandbox.SANDBOX_API_KEY},
        {"contents": [{"role": "user", "parts": [{"text": BRIEF}]}]},
        _gemini,
    ),
    (
        "ollama",
        ollama_sandbox.create_sandbox(),
        "/api/chat",
        {},
        {"model": "llama3.1:8b", "messages": [{"role": "user", "content": BRIEF}], "stream": False},
        _ollama,
    ),
]


@pytest.mark.parametrize(
    ("sandbox", "path", "headers", "body", "text_of"),
    [provider[1:] for provider in PROVIDERS],
    ids=[provider[0] for provider in PROVIDERS],
)
async def test_every_llm_sandbox_drafts_the_same_cover_letter(
    sandbox: Any,
    path: str,
    headers: dict[str, str],
    body: dict[str, Any],
    text_of: Callable[[dict[str, Any]], str],
) -> None:
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
        response = await http.post(path, json=body, headers=headers)

    assert response.status_code == 200, response.text
    assert text_of(response.json()) == sandbox_reply(BRIEF)
