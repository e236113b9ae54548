"""The template writer's contract: drafts from the shipped and the user's templates."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from template_writer_support import ESCAPES

from gigforge.integrations.framework import ChatMessage, ChatRequest, Permanent
from gigforge.integrations.template_writer import TemplateWriterConnector

Connect = Callable[..., TemplateWriterConnector]

EVERYTHING = {
    "title": "Booking API in Django",
    "name": "Ana Ruiz",
    "client_name": "Sam",
    "skills": ["Python", "Django", "PostgreSQL"],
    "highlights": ["Built the booking system for a 40-clinic chain", "Cut API latency by 60%"],
    "budget": "$1,200 fixed",
}


def ask(model: str, variables: dict[str, Any] | str) -> ChatRequest:
    content = variables if isinstance(variables, str) else json.dumps(variables)
    return ChatRequest(
        model=model,
        messages=[
            ChatMessage(role="system", content="You write short freelance proposals."),
            ChatMessage(role="user", content=content),
        ],
    )


async def test_a_proposal_with_every_variable(connect: Connect) -> None:
    result = await connect().chat(ask("template:proposal", EVERYTHING))

    assert result.text == (
        "Hello Sam,\n"
        "\n"
        'Thank you for posting "Booking API in Django". I have read the brief and would like '
        "to take it on.\n"
        "\n"
        "You are looking for Python, Django and PostgreSQL, which is the work I do day to day.\n"
        "\n"
        "Relevant experience:\n"
        "- Built the booking system for a 40-clinic chain\n"
        "- Cut API latency by 60%\n"
        "\n"
        "I can deliver this for $1,200 fixed. I would be glad to agree the scope and first "
        "milestone with you, and to answer any questions before we start.\n"
        "\n"
        "Best regards,\n"
        "Ana Ruiz"
    )


async def test_a_proposal_leaves_out_what_was_not_given(connect: Connect) -> None:
    result = await connect().chat(
        ask("template:proposal", {"title": "Booking API", "name": "Ana", "client_name": None})
    )

    assert result.text == (
        "Hello,\n"
        "\n"
        'Thank you for posting "Booking API". I have read the brief and would like to take '
        "it on.\n"
        "\n"
        "I would be glad to agree the scope and first milestone with you, and to answer any "
        "questions before we start.\n"
        "\n"
        "Best regards,\n"
        "Ana"
    )


async def test_a_draft_is_marked_as_not_ai_and_free(connect: Connect) -> None:
    result = await connect().chat(ask("template:proposal", EVERYTHING))

    assert result.finish_reason == "template"
    assert result.model == "template:proposal"
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (0, 0)
    assert result.cost_micro_usd == 0


async def test_a_summary_with_every_variable(connect: Connect) -> None:
    variables = {
        **EVERYTHING,
        "budget": 1200,
        "highlights": ["Deadline in two weeks"],
        "description": "We need a booking API. " * 40,
    }

    text = (await connect().chat(ask("template:summary", variables))).text

    head = (
        "Booking API in Django\n"
        "\n"
        "Client: Sam\n"
        "Budget: 1200\n"
        "Skills: Python, Django, PostgreSQL\n"
        "\n"
        "Worth noting:\n"
        "- Deadline in two weeks\n"
        "\n"
    )
    assert text.startswith(head)
    posting = text.removeprefix(head)
    assert posting.startswith("We need a booking API. We need")
    assert posting.endswith("...")
    assert len(posting) <= 600


async def test_a_summary_says_what_was_not_stated(connect: Connect) -> None:
    result = await connect().chat(ask("template:summary", {"title": "Booking API"}))

    assert result.text == (
        "Booking API\n\nClient: not stated\nBudget: not stated\nSkills: not stated"
    )


@pytest.mark.parametrize(
    ("model", "missing"), [("template:proposal", "name"), ("template:summary", "title")]
)
async def test_a_required_variable_left_out_is_permanent(
    connect: Connect, model: str, missing: str
) -> None:
    variables = {key: value for key, value in EVERYTHING.items() if key != missing}

    with pytest.raises(Permanent, match=rf"{model} needs a variable.*'{missing}' is undefined"):
        await connect().chat(ask(model, variables))


async def test_variables_are_text_not_template_code(connect: Connect) -> None:
    sneaky = {"title": "{{ ''.__class__ }} {% raw %}", "name": "{{ 7 * 7 }}"}

    text = (await connect().chat(ask("template:proposal", sneaky))).text

    assert "\"{{ ''.__class__ }} {% raw %}\"" in text
    assert text.endswith("{{ 7 * 7 }}")


async def test_an_unknown_template_lists_the_known_ones(connect: Connect) -> None:
    with pytest.raises(
        Permanent, match=r"'template:cover'; the templates are template:proposal, template:summary"
    ):
        await connect().chat(ask("template:cover", EVERYTHING))


async def test_a_model_name_for_another_provider_is_refused(connect: Connect) -> None:
    with pytest.raises(Permanent, match=r"no template for model 'gpt-4o-mini'"):
        await connect().chat(ask("gpt-4o-mini", EVERYTHING))


async def test_a_prompt_in_prose_is_refused_with_the_expected_shape(connect: Connect) -> None:
    with pytest.raises(Permanent, match=r"JSON object in the last user message.*not JSON"):
        await connect().chat(ask("template:proposal", "Write a proposal for a Django API"))


async def test_the_users_templates_are_offered_beside_the_shipped_ones(
    connect: Connect, user_dir: Path
) -> None:
    connector = connect(templates_dir=str(user_dir))

    described = await connector.test()

    assert described["models"] == [
        "template:escape_class",
        "template:escape_format",
        "template:escape_globals",
        "template:escape_lipsum",
        "template:escape_subclasses",
        "template:escape_variable",
        "template:proposal",
        "template:summary",
        "template:thanks",
    ]
    assert described["templates_dir"] == connector.config.templates_dir


async def test_a_users_template_is_filled(connect: Connect, user_dir: Path) -> None:
    result = await connect(templates_dir=str(user_dir)).chat(
        ask("template:thanks", {"title": "the booking API", "client_name": "Sam"})
    )

    assert result.text == "Thank you, Sam, for the booking API."
    assert result.model == "template:thanks"


async def test_a_users_template_replaces_the_shipped_one_of_that_name(
    connect: Connect, user_dir: Path
) -> None:
    result = await connect(templates_dir=str(user_dir)).chat(
        ask("template:summary", {"title": "Booking API"})
    )

    assert result.text == "MY SUMMARY: Booking API"


@pytest.mark.parametrize("name", sorted(ESCAPES))
async def test_the_sandbox_refuses_python_internals(
    connect: Connect, user_dir: Path, name: str
) -> None:
    with pytest.raises(Permanent, match="the template sandbox forbids"):
        await connect(templates_dir=str(user_dir)).chat(
            ask(f"template:{name}", {"title": "Booking API"})
        )


async def test_a_syntax_error_shows_when_connecting(connect: Connect, broken_dir: Path) -> None:
    with pytest.raises(Permanent, match=r"template:follow_up has a syntax error on line \d+"):
        await connect(templates_dir=str(broken_dir)).test()


async def test_a_templates_folder_removed_after_connecting_is_permanent(
    connect: Connect, user_dir: Path
) -> None:
    connector = connect(templates_dir=str(user_dir))
    await asyncio.to_thread(shutil.rmtree, user_dir)

    with pytest.raises(Permanent, match=r"templates folder .* is gone"):
        await connector.chat(ask("template:proposal", EVERYTHING))


async def test_nothing_goes_over_http(
    connect: Connect, user_dir: Path, sent: list[httpx.Request]
) -> None:
    connector = connect(templates_dir=str(user_dir))
    await connector.test()
    await connector.chat(ask("template:proposal", EVERYTHING))

    assert sent == []
