"""The pure translations, on payloads shaped as Trello documents them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gigforge.integrations.framework import AuthExpired, Permanent, RateLimited
from gigforge.integrations.framework.records import RecordKind
from gigforge.integrations.trello.mapping import (
    card_body,
    card_update,
    due_from_trello,
    due_to_trello,
    error_from,
    error_message,
    id_time,
    reference_for,
    split_description,
    to_deleted_task,
    to_project,
    to_status,
    to_task,
    with_reference,
)

CARD = {
    "id": "5abbe4b7ddc1b351ef961414",
    "name": "Write the API",
    "desc": "Endpoints first\n\n[gigforge-ref: task-1]",
    "due": "2026-03-05T12:00:00.000Z",
    "idList": "5abbe4b7ddc1b351ef961410",
    "idBoard": "5abbe4b7ddc1b351ef961400",
    "closed": False,
    "dateLastActivity": "2026-03-01T09:12:44.123Z",
    "url": "https://trello.com/c/abcd1234/12-write-the-api",
}


def test_a_card_is_a_task_without_its_reference_line() -> None:
    record = to_task(CARD)

    assert record.kind is RecordKind.task
    assert record.fields == {
        "title": "Write the API",
        "description": "Endpoints first",
        "status": "5abbe4b7ddc1b351ef961410",
        "due": "2026-03-05",
        "project": "5abbe4b7ddc1b351ef961400",
    }
    assert record.updated_at == datetime(2026, 3, 1, 9, 12, 44, 123000, tzinfo=UTC)
    assert record.url == CARD["url"]
    assert not record.deleted


def test_an_archived_card_is_flagged_deleted_and_a_card_without_due_has_none() -> None:
    record = to_task({**CARD, "closed": True, "due": None})

    assert record.deleted
    assert "due" not in record.fields


def test_a_board_without_activity_dates_from_its_id() -> None:
    record = to_project(
        {"id": "5abbe4b7ddc1b351ef961400", "name": "B", "desc": "", "closed": False}
    )

    assert record.updated_at == id_time("5abbe4b7ddc1b351ef961400")
    assert record.updated_at == datetime.fromtimestamp(0x5ABBE4B7, UTC)


def test_the_reference_line_round_trips_and_only_a_last_line_counts() -> None:
    assert split_description(with_reference("Text", "k-1")) == ("Text", "k-1")
    assert split_description(with_reference("", "k-1")) == ("", "k-1")
    assert split_description("[gigforge-ref: k-1] is quoted\nin text") == (
        "[gigforge-ref: k-1] is quoted\nin text",
        None,
    )
    assert split_description(None) == ("", None)


def test_plain_keys_are_kept_and_others_hashed() -> None:
    assert reference_for("proposal-42:task.3") == "proposal-42:task.3"
    hashed = reference_for("a key with spaces")
    assert hashed.startswith("sha256.")
    assert hashed == reference_for("a key with spaces")


def test_due_dates_are_noon_utc_in_trello() -> None:
    assert due_to_trello("2026-03-05") == "2026-03-05T12:00:00.000Z"
    assert due_to_trello(None) is None
    assert due_from_trello("2026-03-05T23:30:00.000Z") == "2026-03-05"


def test_card_bodies_carry_only_what_changes() -> None:
    assert card_body({"title": " T ", "due": "2026-01-02"}, reference="r", list_id="L") == {
        "idList": "L",
        "name": "T",
        "desc": "[gigforge-ref: r]",
        "pos": "bottom",
        "due": "2026-01-02T12:00:00.000Z",
    }
    assert card_update({"due": None}, current_desc=None, list_id=None) == {"due": None}
    assert card_update(
        {"description": "New"}, current_desc="Old\n\n[gigforge-ref: r]", list_id="L2"
    ) == {"desc": "New\n\n[gigforge-ref: r]", "idList": "L2"}
    with pytest.raises(Permanent, match="title"):
        card_update({"title": "  "}, current_desc=None, list_id=None)


def test_statuses_are_done_by_name_whatever_the_case() -> None:
    assert to_status({"id": "1", "name": " DONE "}, ("Done",)).done
    assert not to_status({"id": "2", "name": "Doing"}, ("Done",)).done


def test_a_delete_card_action_is_a_deleted_task() -> None:
    record = to_deleted_task(
        {
            "id": "a1",
            "type": "deleteCard",
            "date": "2026-03-02T10:00:00.000Z",
            "data": {"card": {"id": "c1", "idShort": 4}, "board": {"id": "b1"}},
        },
        "b1",
    )
    assert record is not None
    assert (record.id, record.deleted, record.fields) == ("c1", True, {"project": "b1"})


def test_error_messages_are_read_from_plain_text_and_json() -> None:
    assert error_message("invalid token") == "invalid token"
    assert (
        error_message('{"error": "API_KEY_LIMIT_EXCEEDED", "message": "Rate limit exceeded"}')
        == "Rate limit exceeded (API_KEY_LIMIT_EXCEEDED)"
    )
    assert error_message('{"originalMessage": "Unauthorized", "originalStatus": 401}') == (
        "Unauthorized"
    )
    assert error_message("") is None


def test_framework_errors_keep_their_kind_with_trellos_words() -> None:
    auth = error_from(AuthExpired("x", integration="trello", status=401, body="invalid token"))
    limited = error_from(
        RateLimited(
            "x",
            integration="trello",
            retry_after=2.0,
            status=429,
            body='{"error": "API_TOKEN_LIMIT_EXCEEDED", "message": "Rate limit exceeded"}',
        )
    )

    assert isinstance(auth, AuthExpired)
    assert auth.detail == "Trello: invalid token"
    assert isinstance(limited, RateLimited)
    assert limited.retry_after == 2.0
