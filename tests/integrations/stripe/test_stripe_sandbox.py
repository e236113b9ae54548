"""The sandbox speaks Stripe's protocol: auth, error envelopes, idempotency, paging, limits."""

from __future__ import annotations

import base64

import httpx
import pytest

from gigforge.integrations.stripe import encode_form
from gigforge.integrations.stripe._sandbox_wire import decode_form
from gigforge.integrations.stripe.sandbox import (
    SANDBOX_SECRET_KEY,
    StripeSandbox,
    create_sandbox,
)

AUTH = {"Authorization": f"Bearer {SANDBOX_SECRET_KEY}"}
CHECKOUT = {
    "mode": "payment",
    "success_url": "https://gigforge.test/ok",
    "line_items": [
        {
            "price_data": {
                "currency": "usd",
                "unit_amount": 1500,
                "product_data": {"name": "Audit"},
            },
            "quantity": 2,
        }
    ],
}


def form(params: dict[str, object]) -> dict[str, str]:
    return dict(encode_form(params))


async def test_a_request_without_a_key_gets_stripes_401(raw: httpx.AsyncClient) -> None:
    response = await raw.get("/v1/balance")

    assert response.status_code == 401
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith("You did not provide an API key.")


async def test_a_wrong_key_is_named_only_by_its_prefix_and_last_four(
    raw: httpx.AsyncClient,
) -> None:
    key = "sk_test_abcdefghijklmnop1234"

    response = await raw.get("/v1/balance", headers={"Authorization": f"Bearer {key}"})

    assert response.status_code == 401
    message = response.json()["error"]["message"]
    assert message.startswith("Invalid API Key provided: sk_test_")
    assert message.endswith("1234")
    assert key not in message


async def test_basic_auth_with_the_key_as_username_is_accepted(raw: httpx.AsyncClient) -> None:
    token = base64.b64encode(f"{SANDBOX_SECRET_KEY}:".encode()).decode()

    response = await raw.get("/v1/balance", headers={"Authorization": f"Basic {token}"})

    assert response.status_code == 200
    assert response.json()["object"] == "balance"
    assert response.headers["request-id"].startswith("req_")


async def test_an_unknown_url_is_stripes_404(raw: httpx.AsyncClient) -> None:
    response = await raw.post("/v1/balance", headers=AUTH)

    assert response.status_code == 404
    assert response.json()["error"]["message"].startswith(
        "Unrecognized request URL (POST: /v1/balance)."
    )


async def test_a_missing_param_is_parameter_missing(raw: httpx.AsyncClient) -> None:
    response = await raw.post("/v1/checkout/sessions", headers=AUTH, data={"mode": "payment"})

    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "parameter_missing",
        "doc_url": "https://stripe.com/docs/error-codes/parameter-missing",
        "message": "Missing required param: success_url.",
        "param": "success_url",
        "type": "invalid_request_error",
    }


async def test_line_items_are_totalled_from_their_price_data(raw: httpx.AsyncClient) -> None:
    response = await raw.post("/v1/checkout/sessions", headers=AUTH, data=form(CHECKOUT))

    session = response.json()
    assert (session["amount_total"], session["currency"]) == (3000, "usd")
    assert response.headers["stripe-version"]


async def test_a_replayed_key_returns_the_saved_response_marked_as_replayed(
    raw: httpx.AsyncClient, sandbox: StripeSandbox
) -> None:
    headers = {**AUTH, "Idempotency-Key": "key-1"}

    first = await raw.post("/v1/checkout/sessions", headers=headers, data=form(CHECKOUT))
    second = await raw.post("/v1/checkout/sessions", headers=headers, data=form(CHECKOUT))

    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert len(sandbox.sessions) == 1


async def test_a_key_reused_with_other_params_or_elsewhere_is_an_idempotency_error(
    raw: httpx.AsyncClient,
) -> None:
    headers = {**AUTH, "Idempotency-Key": "key-2"}
    await raw.post("/v1/checkout/sessions", headers=headers, data=form(CHECKOUT))

    other_params = await raw.post(
        "/v1/checkout/sessions",
        headers=headers,
        data=form({**CHECKOUT, "mode": "payment", "x": "1"}),
    )
    other_endpoint = await raw.post("/v1/refunds", headers=headers, data={"payment_intent": "pi"})

    assert other_params.status_code == 400
    assert other_params.json()["error"]["type"] == "idempotency_error"
    assert "same parameters" in other_params.json()["error"]["message"]
    assert other_endpoint.status_code == 400
    assert "same endpoint" in other_endpoint.json()["error"]["message"]


async def test_a_request_that_fails_validation_does_not_use_up_its_key(
    raw: httpx.AsyncClient,
) -> None:
    headers = {**AUTH, "Idempotency-Key": "key-3"}

    invalid = await raw.post("/v1/checkout/sessions", headers=headers, data={"mode": "payment"})
    fixed = await raw.post("/v1/checkout/sessions", headers=headers, data=form(CHECKOUT))

    assert invalid.status_code == 400
    assert fixed.status_code == 200


async def test_a_failure_after_execution_began_is_replayed(
    raw: httpx.AsyncClient,
) -> None:
    headers = {**AUTH, "Idempotency-Key": "key-4"}
    transfer = {"amount": "99999999", "currency": "usd", "destination": "acct_1GigforgeSandbox"}

    first = await raw.post("/v1/transfers", headers=headers, data=transfer)
    second = await raw.post("/v1/transfers", headers=headers, data=transfer)

    assert first.json()["error"]["code"] == "balance_insufficient"
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"


async def test_events_page_with_starting_after_and_has_more(
    raw: httpx.AsyncClient, sandbox: StripeSandbox
) -> None:
    first = (await raw.get("/v1/events", params={"limit": 3}, headers=AUTH)).json()
    rest = (
        await raw.get(
            "/v1/events",
            params={"limit": 3, "starting_after": first["data"][-1]["id"]},
            headers=AUTH,
        )
    ).json()

    assert (len(first["data"]), first["has_more"]) == (3, True)
    assert (len(rest["data"]), rest["has_more"]) == (2, False)
    newest_first = [event["id"] for event in reversed(sandbox.events)]
    assert [event["id"] for event in first["data"] + rest["data"]] == newest_first


async def test_events_filter_by_wildcard_type_and_creation_time(
    raw: httpx.AsyncClient, sandbox: StripeSandbox
) -> None:
    latest = max(event["created"] for event in sandbox.events)

    by_type = await raw.get("/v1/events", params={"type": "payment_intent.*"}, headers=AUTH)
    by_time = await raw.get("/v1/events", params={"created[gte]": latest}, headers=AUTH)

    assert {event["type"] for event in by_type.json()["data"]} == {"payment_intent.succeeded"}
    assert [event["type"] for event in by_time.json()["data"]] == ["balance.available"]


async def test_an_unknown_cursor_is_resource_missing(raw: httpx.AsyncClient) -> None:
    response = await raw.get("/v1/events", params={"starting_after": "evt_nope"}, headers=AUTH)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "resource_missing"


async def test_more_than_the_test_mode_rate_in_one_second_gets_429() -> None:
    sandbox = create_sandbox(requests_per_second=2, clock=lambda: 1_700_000_000.0)
    transport = httpx.ASGITransport(app=sandbox.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        statuses = [(await client.get("/v1/balance", headers=AUTH)).status_code for _ in range(3)]
        limited = await client.get("/v1/balance", headers=AUTH)

    assert statuses == [200, 200, 429]
    assert limited.json()["error"]["type"] == "invalid_request_error"
    assert "exponential backoff" in limited.json()["error"]["message"]


async def test_injected_faults_use_stripes_error_envelope(
    raw: httpx.AsyncClient, sandbox: StripeSandbox
) -> None:
    sandbox.faults.error_rate = 1.0
    sandbox.faults.error_status = 500

    response = await raw.get("/v1/balance", headers=AUTH)

    assert response.status_code == 500
    assert response.json()["error"]["type"] == "api_error"


async def test_the_checkout_page_shows_an_open_session_and_forgets_a_paid_one(
    raw: httpx.AsyncClient,
) -> None:
    session = (await raw.post("/v1/checkout/sessions", headers=AUTH, data=form(CHECKOUT))).json()

    page = await raw.get(f"/c/pay/{session['id']}")
    await raw.post(f"/c/pay/{session['id']}")
    again = await raw.get(f"/c/pay/{session['id']}")

    assert page.status_code == 200
    assert "30.00 USD" in page.text
    assert again.status_code == 404


def test_decode_form_inverts_encode_form() -> None:
    params = {
        "mode": "payment",
        "line_items": [{"price_data": {"currency": "usd", "unit_amount": "5"}, "quantity": "1"}],
        "metadata": {"reference": "r1"},
        "types": ["a", "b"],
    }

    assert decode_form(encode_form(params)) == params


def test_decode_form_reads_empty_brackets_as_appends() -> None:
    assert decode_form([("types[]", "a"), ("types[]", "b")]) == {"types": ["a", "b"]}


def test_decode_form_refuses_a_value_that_is_also_a_parent() -> None:
    with pytest.raises(ValueError, match="mixes"):
        decode_form([("metadata", "x"), ("metadata[a]", "y")])
