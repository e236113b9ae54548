from __future__ import annotations

from gigforge.kit.redaction import REDACTED, redact, redact_processor

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkFkYSJ9"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
VISA = "4111 1111 1111 1111"  # a published test number; Luhn-valid
ORDER_ID = "1234567812345678"  # Luhn-invalid, so not a card


def test_secret_named_keys_lose_their_whole_value_at_any_depth() -> None:
    data = {
        "Password": "hunter2",
        "user": {
            "passwd": "x",
            "client_secret": "s1",
            "refresh_token": "r1",
            "X-Api-Key": "k1",
            "apiKey": "k2",
            "access_key": "k3",
            "private_key": "k4",
            "Set-Cookie": "sid=1",
            "session": "abc",
            "signature": "sig",
            "credentials": ["a", "b"],
        },
        "headers": [{"Authorization": "Basic dXNlcjpwYXNz", "Cookie": "a=b"}],
    }

    result = redact(data)

    assert result == {
        "Password": REDACTED,
        "user": {
            "passwd": REDACTED,
            "client_secret": REDACTED,
            "refresh_token": REDACTED,
            "X-Api-Key": REDACTED,
            "apiKey": REDACTED,
            "access_key": REDACTED,
            "private_key": REDACTED,
            "Set-Cookie": REDACTED,
            "session": REDACTED,
            "signature": REDACTED,
            "credentials": REDACTED,
        },
        "headers": [{"Authorization": REDACTED, "Cookie": REDACTED}],
    }


def test_input_is_not_modified() -> None:
    data = {"password": "hunter2", "items": ["ada@example.com"]}

    redact(data)

    assert data == {"password": "hunter2", "items": ["ada@example.com"]}


def test_jwt_in_free_text_is_removed() -> None:
    assert redact(f"issued {JWT} to client") == f"issued {REDACTED} to client"


def test_gigforge_keys_and_tokens_are_removed() -> None:
    text = "key gf_Ab12-_xyZ, refresh gfr_Q9w8e7r6 and reset gfp_zz_top"

    assert redact(text) == f"key {REDACTED}, refresh {REDACTED} and reset {REDACTED}"


def test_authorization_schemes_keep_the_scheme_but_lose_the_credential() -> None:
    text = "Authorization: Bearer abc.def-ghi / basic dXNlcjpwYXNz=="

    assert redact(text) == f"Authorization: Bearer {REDACTED} / basic {REDACTED}"


def test_secret_pairs_in_query_strings_and_reprs_are_removed() -> None:
    query = "/cb?page=2&password=hunter2&access_token=xyz&X-Amz-Signature=f00d&next=/home"
    as_repr = "{'password': 'hunter2', \"api_key\": \"k1\", 'name': 'Ada'}"

    assert redact(query) == (
        f"/cb?page=2&password={REDACTED}&access_token={REDACTED}"
        f"&X-Amz-Signature={REDACTED}&next=/home"
    )
    assert redact(as_repr) == (
        f"{{'password': \"{REDACTED}\", \"api_key\": \"{REDACTED}\", 'name': 'Ada'}}"
    )


def test_email_addresses_become_a_placeholder() -> None:
    assert redact("sent to ada.lovelace+jobs@example.co.uk today") == "sent to [EMAIL] today"


def test_luhn_valid_card_numbers_become_a_placeholder_in_every_spelling() -> None:
    text = f"cards {VISA}, 4111-1111-1111-1111 and 4111111111111111"

    assert redact(text) == "cards [CARD], [CARD] and [CARD]"


def test_luhn_invalid_long_numbers_are_kept() -> None:
    text = f"order {ORDER_ID} shipped"

    assert redact(text) == text


def test_digits_inside_a_longer_number_are_not_mistaken_for_a_card() -> None:
    text = "trace 41111111111111111111"

    assert redact(text) == text


def test_ids_whose_digit_groups_pass_the_luhn_check_are_kept() -> None:
    # The last two groups of this UUID read as a Luhn-valid 16-digit card number; an event
    # payload carrying it must keep its id (a redacted id broke event consumers).
    data = {
        "opportunity_id": "0193a30b-77aa-7bcd-4111-111111111111",
        "ref": "ab12-4111111111111111",
    }

    assert redact(data) == data


def test_ordinary_keys_and_values_are_kept() -> None:
    data = {
        "event": "job imported",
        "job_id": "123e4567-e89b-12d3-a456-426614174000",
        "tokens_used": 1200,
        "passenger": "Ada",
        "amount": 12.5,
        "tags": ("python", "fastapi"),
        "at": "2024-01-15T10:00:00Z",
        "plan": None,
    }

    assert redact(data) == data


def test_secrets_nested_in_lists_and_tuples_are_removed() -> None:
    data = {"notes": ["call ada@example.com", ("card", VISA), [f"jwt {JWT}"]]}

    assert redact(data) == {"notes": ["call [EMAIL]", ("card", "[CARD]"), [f"jwt {REDACTED}"]]}


def test_processor_redacts_event_fields_and_rendered_exception() -> None:
    event_dict = {
        "event": "login failed for ada@example.com",
        "password": "hunter2",
        "exception": 'Traceback...\nValueError: bad token="gf_secret123"',
        "status": 401,
    }

    result = redact_processor(None, "error", event_dict)

    assert result == {
        "event": "login failed for [EMAIL]",
        "password": REDACTED,
        "exception": f"Traceback...\nValueError: bad token={REDACTED}",
        "status": 401,
    }
