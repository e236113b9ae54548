from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import structlog

from gigforge.kit.logging import configure_logging, get_logger
from gigforge.settings import Settings

PASSWORD = "hunter2-very-secret"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkFkYSJ9"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
API_KEY = "gf_live_4nM9xQ2pLs8vT1"
BEARER_TOKEN = "abc123opaqueTOKEN456"
EMAIL = "ada.lovelace@example.com"
CARD = "4111 1111 1111 1111"
PLANTED = (PASSWORD, JWT, API_KEY, BEARER_TOKEN, EMAIL, CARD, CARD.replace(" ", ""))


def _json_lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def _assert_nothing_planted(output: str) -> None:
    leaked = [value for value in PLANTED if value in output]
    assert leaked == []


@pytest.mark.usefixtures("restore_logging")
def test_stdlib_records_are_redacted_json_with_context(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(Settings(env="development", log_format="json"))
    third_party = logging.getLogger("thirdparty.client")

    with structlog.contextvars.bound_contextvars(request_id="req-123"):
        third_party.warning("login password=%s for %s", PASSWORD, EMAIL)
        third_party.info("sent headers %s", {"Authorization": f"Bearer {BEARER_TOKEN}"})
        third_party.info("using %s and %s to pay with %s", API_KEY, JWT, CARD)

    output = capsys.readouterr().err
    _assert_nothing_planted(output)
    records = _json_lines(output)
    assert [record["event"] for record in records] == [
        "login password=[REDACTED] for [EMAIL]",
        "sent headers {'Authorization': \"[REDACTED]\"}",
        "using [REDACTED] and [REDACTED] to pay with [CARD]",
    ]
    first = records[0]
    assert first["logger"] == "thirdparty.client"
    assert first["level"] == "warning"
    assert first["request_id"] == "req-123"
    assert first["timestamp"].endswith("Z")


@pytest.mark.usefixtures("restore_logging")
def test_structlog_events_are_redacted_json(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(Settings(env="development", log_format="json"))

    get_logger("gigforge.test").info(
        "signed in",
        password=PASSWORD,
        token=JWT,
        note=f"created {API_KEY}",
        headers={"authorization": f"Bearer {BEARER_TOKEN}"},
        email=EMAIL,
        card=CARD,
        user_id=42,
    )

    output = capsys.readouterr().err
    _assert_nothing_planted(output)
    (record,) = _json_lines(output)
    assert record["event"] == "signed in"
    assert record["logger"] == "gigforge.test"
    assert record["password"] == "[REDACTED]"
    assert record["headers"] == {"authorization": "[REDACTED]"}
    assert record["email"] == "[EMAIL]"
    assert record["user_id"] == 42


@pytest.mark.usefixtures("restore_logging")
def test_exception_text_is_redacted_for_both_loggers(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(Settings(env="development", log_format="json"))

    try:
        raise ValueError(f"charge {CARD} for {EMAIL} with {API_KEY} password={PASSWORD}")
    except ValueError:
        logging.getLogger("gigforge.payments").exception("payment failed")
        get_logger("gigforge.payments").exception("payment failed")

    output = capsys.readouterr().err
    _assert_nothing_planted(output)
    records = _json_lines(output)
    assert len(records) == 2
    for record in records:
        assert record["level"] == "error"
        assert "Traceback" in record["exception"]
        assert (
            "ValueError: charge [CARD] for [EMAIL] with [REDACTED] password=[REDACTED]"
            in record["exception"]
        )


@pytest.mark.usefixtures("restore_logging")
def test_console_format_is_redacted_too(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(Settings(env="development", log_format="console"))

    try:
        raise RuntimeError(f"token {JWT} rejected for {EMAIL}")
    except RuntimeError:
        get_logger("gigforge.test").exception("refresh failed", password=PASSWORD)

    output = capsys.readouterr().err
    _assert_nothing_planted(output)
    assert "refresh failed" in output
    assert "RuntimeError: token [REDACTED] rejected for [EMAIL]" in output
    with pytest.raises(json.JSONDecodeError):
        json.loads(output.splitlines()[0])


@pytest.mark.usefixtures("restore_logging")
def test_configuring_twice_keeps_one_handler(capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(env="development", log_format="json")
    configure_logging(settings)
    configure_logging(settings)

    logging.getLogger("gigforge.test").warning("once")

    ours = [h for h in logging.getLogger().handlers if h.get_name() == "gigforge"]
    assert len(ours) == 1
    assert [record["event"] for record in _json_lines(capsys.readouterr().err)] == ["once"]


@pytest.mark.usefixtures("restore_logging")
def test_uvicorn_access_is_quiet_and_uvicorn_errors_use_our_format(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(Settings(env="development", log_format="json", log_level="DEBUG"))

    logging.getLogger("uvicorn.access").info('127.0.0.1 - "GET /?token=abc HTTP/1.1" 200')
    logging.getLogger("sqlalchemy.engine").info("SELECT secret FROM vault")
    logging.getLogger("uvicorn.error").info("Application startup complete.")

    records = _json_lines(capsys.readouterr().err)
    assert [(record["logger"], record["event"]) for record in records] == [
        ("uvicorn.error", "Application startup complete.")
    ]


@pytest.mark.usefixtures("restore_logging")
def test_records_below_the_configured_level_are_dropped(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(Settings(env="development", log_format="json", log_level="WARNING"))

    get_logger("gigforge.test").info("chatty")
    logging.getLogger("thirdparty").info("chatty too")
    get_logger("gigforge.test").warning("kept")

    assert [record["event"] for record in _json_lines(capsys.readouterr().err)] == ["kept"]
