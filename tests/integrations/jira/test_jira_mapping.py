"""The pure translations and the config: ADF both ways, JQL times, errors, statuses, and the
API-token secret the policy layer sends."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr, ValidationError

from gigforge.connections.service import split_config
from gigforge.integrations.jira import SPEC, JiraConfig
from gigforge.integrations.jira.mapping import (
    changes_jql,
    error_message,
    format_time,
    from_adf,
    parse_time,
    reference_jql,
    to_adf,
    to_statuses,
    transition_to,
)


def test_text_goes_to_adf_paragraphs_with_hard_breaks_and_back() -> None:
    text = "Line one\nline two\n\nSecond paragraph"

    document = to_adf(text)

    assert document["content"][0]["content"] == [
        {"type": "text", "text": "Line one"},
        {"type": "hardBreak"},
        {"type": "text", "text": "line two"},
    ]
    assert from_adf(document) == text


def test_adf_lists_and_mentions_are_read_as_their_text() -> None:
    document = {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "heading",
                "attrs": {"level": 2},
                "content": [{"type": "text", "text": "Plan"}],
            },
            {
                "type": "bulletList",
                "content": [
                    {
                        "type": "listItem",
                        "content": [
                            {"type": "paragraph", "content": [{"type": "text", "text": "a"}]}
                        ],
                    },
                    {
                        "type": "listItem",
                        "content": [
                            {
                                "type": "paragraph",
                                "content": [{"type": "mention", "attrs": {"text": "@Ana"}}],
                            }
                        ],
                    },
                ],
            },
        ],
    }

    assert from_adf(document) == "Plan\n\na\n\n@Ana"


def test_jql_times_are_in_the_users_zone_to_the_minute() -> None:
    since = datetime(2026, 7, 1, 8, 30, 45, tzinfo=UTC)

    jql = changes_jql("GIG-1", since, ZoneInfo("Europe/Berlin"))

    assert jql == 'parent = "GIG-1" AND updated >= "2026/07/01 10:30" ORDER BY updated ASC'


def test_a_reference_is_quoted_for_jql() -> None:
    assert reference_jql('a"b\\c') == 'issue.property[gigforge].ref = "a\\"b\\\\c"'


def test_jira_times_parse_with_their_offset() -> None:
    parsed = parse_time("2026-01-01T10:00:00.000+0100")

    assert parsed == datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
    assert format_time(parsed) == "2026-01-01T09:00:00.000+0000"


def test_error_messages_and_field_errors_are_joined() -> None:
    body = '{"errorMessages": ["Bad"], "errors": {"summary": "Required"}}'

    assert error_message(body) == "Bad; summary: Required"
    assert error_message("<html>") is None


def test_statuses_of_the_task_type_mark_the_done_category() -> None:
    per_type = [
        {
            "name": "Epic",
            "statuses": [{"id": "1", "name": "Open", "statusCategory": {"key": "new"}}],
        },
        {
            "name": "Task",
            "statuses": [
                {"id": "10000", "name": "To Do", "statusCategory": {"key": "new"}},
                {"id": "10001", "name": "Done", "statusCategory": {"key": "done"}},
            ],
        },
    ]

    statuses = to_statuses(per_type, "Task")

    assert [(s.id, s.done) for s in statuses] == [("10000", False), ("10001", True)]


def test_the_transition_leading_to_a_status_is_found() -> None:
    transitions = [{"id": "11", "to": {"id": "10000"}}, {"id": "31", "to": {"id": "10001"}}]

    assert transition_to(transitions, "10001") == "31"
    assert transition_to(transitions, "3") is None


def test_the_api_token_becomes_a_hidden_basic_secret_for_the_vault() -> None:
    public, secret = split_config(
        SPEC, {"base_url": "https://acme.atlassian.net", "email": "a@b.test", "api_token": "tok"}
    )

    assert public["email"] == "a@b.test"
    assert "api_token" not in public
    assert "basic_credentials" not in public
    assert base64.b64decode(secret["basic_credentials"]) == b"a@b.test:tok"
    assert "basic_credentials" not in SPEC.config_schema()["properties"]
    assert SPEC.config_schema()["properties"]["api_token"]["writeOnly"] is True


def test_a_basic_secret_sent_in_the_form_is_ignored() -> None:
    config = JiraConfig.model_validate({"basic_credentials": SecretStr("forged")})

    assert config.basic_credentials is None


def test_a_token_without_its_email_is_refused() -> None:
    with pytest.raises(ValidationError, match="needs the email"):
        JiraConfig.model_validate({"api_token": "tok"})
