"""The request contract as pure functions: the model names a template, the last user message
holds its variables as a JSON object."""

from __future__ import annotations

import pytest

from gigforge.integrations.framework import ChatMessage, Permanent
from gigforge.integrations.template_writer.mapping import (
    template_name,
    to_chat_result,
    to_variables,
)

KNOWN = ["proposal", "summary"]


def user(content: str) -> ChatMessage:
    return ChatMessage(role="user", content=content)


def test_the_model_names_the_template() -> None:
    assert template_name("template:summary", KNOWN) == "summary"


@pytest.mark.parametrize("model", ["template:cover", "proposal", "template:", "gpt-4o"])
def test_anything_else_is_refused_with_the_known_models(model: str) -> None:
    with pytest.raises(Permanent, match="the templates are template:proposal, template:summary"):
        template_name(model, KNOWN)


def test_the_last_user_message_holds_the_variables() -> None:
    messages = [
        ChatMessage(role="system", content="Be brief."),
        user('{"title": "an older request"}'),
        user('{"title": "Booking API", "name": "Ana"}'),
        ChatMessage(role="assistant", content="not JSON at all"),
    ]

    assert to_variables(messages) == {"title": "Booking API", "name": "Ana"}


def test_null_means_not_given_and_other_keys_pass_through() -> None:
    variables = to_variables(
        [user('{"title": "Booking API", "client_name": null, "deadline": "May 3", "extra": null}')]
    )

    assert variables == {"title": "Booking API", "deadline": "May 3"}


def test_typed_keys_keep_their_types() -> None:
    variables = to_variables(
        [user('{"skills": ["Go"], "highlights": [], "budget": 800, "description": "text"}')]
    )

    assert variables == {"skills": ["Go"], "highlights": [], "budget": 800, "description": "text"}


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ('{"skills": "Python, Django"}', r"skills: Input should be a valid list"),
        ('{"highlights": ["fast", 3]}', r"highlights\.1: Input should be a valid string"),
        ('{"title": 42}', r"title: Input should be a valid string"),
    ],
)
def test_documented_keys_of_the_wrong_type_are_refused(content: str, complaint: str) -> None:
    with pytest.raises(Permanent, match=rf"variables are not valid: {complaint}"):
        to_variables([user(content)])


def test_prose_is_refused_with_an_example() -> None:
    with pytest.raises(Permanent, match=r'such as \{"title": .*; that message is not JSON'):
        to_variables([user("Please write me a proposal")])


@pytest.mark.parametrize(("content", "kind"), [('["a", "b"]', "list"), ('"hello"', "str")])
def test_json_that_is_not_an_object_is_refused(content: str, kind: str) -> None:
    with pytest.raises(Permanent, match=rf"must be a JSON object.*not a JSON {kind}"):
        to_variables([user(content)])


def test_a_conversation_without_a_user_message_is_refused() -> None:
    with pytest.raises(Permanent, match="needs a user message holding a JSON object"):
        to_variables([ChatMessage(role="system", content='{"title": "x"}')])


def test_a_result_is_a_free_template_text_marked_as_such() -> None:
    result = to_chat_result("proposal", "\nHello,\n\nBest regards,\nAna\n\n")

    assert result.model_dump() == {
        "text": "Hello,\n\nBest regards,\nAna",
        "model": "template:proposal",
        "usage": {"prompt_tokens": 0, "completion_tokens": 0},
        "finish_reason": "template",
        "cost_micro_usd": 0,
    }
