"""The connector's contract, driven against the Stripe sandbox through the policy layer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib.metadata import entry_points

import httpx
import pytest
from pydantic import SecretStr, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from gigforge.integrations.framework import (
    AuthExpired,
    CheckoutRequest,
    HeaderCredentials,
    IntegrationRuntime,
    Permanent,
    RateLimited,
    Registry,
    Transient,
    static_secret,
)
from gigforge.integrations.stripe import (
    SPEC,
    STRIPE_API_VERSION,
    StripeAPIError,
    StripeConfig,
    StripeConnector,
)
from gigforge.integrations.stripe.sandbox import (
    SANDBOX_CONNECTED_ACCOUNT,
    SANDBOX_WEBHOOK_SECRET,
    StripeSandbox,
)

ConnectorFactory = Callable[..., Awaitable[StripeConnector]]


def checkout_request(**overrides: object) -> CheckoutRequest:
    values: dict[str, object] = {
        "amount_minor": 45_000,
        "currency": "USD",
        "description": "Landing page, milestone 1",
        "success_url": "https://gigforge.test/paid?session={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://gigforge.test/cancelled",
        "customer_email": "client@example.com",
        "reference": "pay_3f1d2c9a",
    }
    values.update(overrides)
    return CheckoutRequest.model_validate(values)


async def test_create_checkout_opens_a_hosted_session(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    session = await stripe.create_checkout(checkout_request())

    assert session.id.startswith("cs_test_")
    assert session.url == f"http://sandbox/c/pay/{session.id}"
    assert session.status == "open"
    assert (session.amount_minor, session.currency) == (45_000, "USD")
    assert session.livemode is False
    assert session.client_reference_id == "pay_3f1d2c9a"
    assert sandbox.sessions[session.id]["metadata"] == {"reference": "pay_3f1d2c9a"}


async def test_every_call_carries_the_key_version_and_form_encoding(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    await stripe.create_checkout(checkout_request())

    sent = sandbox.received[-1]
    assert sent.headers["authorization"] == "Bearer sk_test_gigforge_sandbox_key"
    assert sent.headers["stripe-version"] == STRIPE_API_VERSION
    assert sent.headers["idempotency-key"] == "pay_3f1d2c9a"
    assert sent.headers["content-type"] == "application/x-www-form-urlencoded"
    assert ("line_items[0][price_data][currency]", "usd") in sent.params
    assert ("line_items[0][price_data][product_data][name]", "Landing page, milestone 1") in (
        sent.params
    )


async def test_retrying_a_checkout_with_its_reference_replays_the_same_session(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    first = await stripe.create_checkout(checkout_request())
    second = await stripe.create_checkout(checkout_request())

    assert second.id == first.id
    assert len(sandbox.sessions) == 1


async def test_reusing_a_reference_for_another_payment_is_stripes_idempotency_error(
    stripe: StripeConnector,
) -> None:
    await stripe.create_checkout(checkout_request())

    with pytest.raises(StripeAPIError) as caught:
        await stripe.create_checkout(checkout_request(amount_minor=1))

    assert caught.value.upstream_status == 400
    assert caught.value.stripe_type == "idempotency_error"
    assert "same parameters they were first used with" in caught.value.detail
    assert caught.value.extensions["stripe_type"] == "idempotency_error"


async def test_refund_returns_money_from_a_paid_payment_intent(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    intent = sandbox.seeded_payment_intents[0]

    refund = await stripe.refund(intent, amount_minor=2_000, idempotency_key="refund_0001")

    assert refund.id.startswith("re_")
    assert (refund.status, refund.amount_minor, refund.currency) == ("succeeded", 2_000, "USD")
    assert refund.payment_intent == intent
    assert sandbox.received[-1].headers["idempotency-key"] == "refund_0001"


async def test_refund_by_charge_id_names_the_charge(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    payment = sandbox.payments[sandbox.seeded_payment_intents[1]]

    refund = await stripe.refund(payment.charge_id, amount_minor=500, idempotency_key="rf_0002")

    assert refund.charge == payment.charge_id
    assert ("charge", payment.charge_id) in sandbox.received[-1].params


async def test_refund_larger_than_the_payment_carries_stripes_message_and_code(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    intent = sandbox.seeded_payment_intents[1]

    with pytest.raises(StripeAPIError) as caught:
        await stripe.refund(intent, amount_minor=999_999, idempotency_key="refund_0003")

    error = caught.value
    assert error.upstream_status == 400
    assert error.stripe_code == "amount_too_large"
    assert error.stripe_param == "amount"
    assert "is greater than unrefunded amount on charge" in error.detail
    assert error.doc_url == "https://stripe.com/docs/error-codes/amount-too-large"


async def test_missing_parameter_is_permanent_with_stripes_message(
    stripe: StripeConnector,
) -> None:
    with pytest.raises(StripeAPIError) as caught:
        await stripe.refund("", amount_minor=100, idempotency_key="refund_0004")

    assert caught.value.stripe_code == "parameter_missing"
    assert caught.value.stripe_type == "invalid_request_error"
    assert caught.value.detail == "Stripe: Missing required param: payment_intent."


async def test_payout_transfers_to_the_connected_account(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    before = sandbox.available["usd"]

    payout = await stripe.payout(
        amount_minor=7_500,
        currency="USD",
        destination=SANDBOX_CONNECTED_ACCOUNT,
        idempotency_key="payout_0001",
        transfer_group="JOB_42",
    )

    assert payout.id.startswith("tr_")
    assert (payout.status, payout.amount_minor, payout.currency) == ("paid", 7_500, "USD")
    assert (payout.destination, payout.transfer_group) == (SANDBOX_CONNECTED_ACCOUNT, "JOB_42")
    assert sandbox.available["usd"] == before - 7_500


async def test_payout_beyond_the_balance_is_balance_insufficient(
    stripe: StripeConnector,
) -> None:
    with pytest.raises(StripeAPIError) as caught:
        await stripe.payout(
            amount_minor=10_000_000,
            currency="usd",
            destination=SANDBOX_CONNECTED_ACCOUNT,
            idempotency_key="payout_0002",
        )

    assert caught.value.stripe_code == "balance_insufficient"
    assert "insufficient available funds" in caught.value.detail


async def test_test_call_reads_the_balance(stripe: StripeConnector, sandbox: StripeSandbox) -> None:
    result = await stripe.test()

    assert result == {
        "livemode": False,
        "available_currencies": ["USD"],
        "pending_currencies": ["USD"],
    }
    assert sandbox.received[-1].path == "/v1/balance"


async def test_events_follow_the_cursor_across_pages(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    events = [event async for event in stripe.events(page_size=2)]

    assert [event.id for event in events] == [event["id"] for event in reversed(sandbox.events)]
    assert len(events) == 5
    pages = [dict(request.params) for request in sandbox.received]
    assert len(pages) == 3
    assert "starting_after" not in pages[0]
    assert pages[1]["starting_after"] == events[1].id
    assert pages[2]["starting_after"] == events[3].id


async def test_events_can_be_filtered_by_type(stripe: StripeConnector) -> None:
    events = [event async for event in stripe.events(types=["charge.succeeded"])]

    assert [event.type for event in events] == ["charge.succeeded", "charge.succeeded"]


async def test_a_refused_key_becomes_auth_expired(connect: ConnectorFactory) -> None:
    stripe = await connect(secret_key="sk_test_not_the_right_key")

    with pytest.raises(AuthExpired):
        await stripe.test()


async def test_429_with_retry_after_is_retried_after_the_wait(
    stripe: StripeConnector, sandbox: StripeSandbox, sleeps: list[float]
) -> None:
    sandbox.faults.burst_429 = 2
    sandbox.faults.retry_after = 3

    session = await stripe.create_checkout(checkout_request())

    assert session.status == "open"
    assert sleeps == [3.0, 3.0]
    assert len(sandbox.sessions) == 1


async def test_429_that_does_not_stop_becomes_rate_limited(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    sandbox.faults.burst_429 = 100

    with pytest.raises(RateLimited):
        await stripe.test()


async def test_409_conflict_is_transient_so_the_task_tries_again(
    stripe: StripeConnector, sandbox: StripeSandbox
) -> None:
    sandbox.faults.error_rate = 1.0
    sandbox.faults.error_status = 409

    with pytest.raises(Transient) as caught:
        await stripe.refund(
            sandbox.seeded_payment_intents[0], amount_minor=1, idempotency_key="rf_0005"
        )

    assert caught.value.upstream_status == 409


async def test_a_lock_timeout_stripe_says_to_retry_is_retried_with_the_same_key(
    stripe: StripeConnector, sandbox: StripeSandbox, sleeps: list[float]
) -> None:
    sandbox.lock_timeouts = 1

    refund = await stripe.refund(
        sandbox.seeded_payment_intents[0], amount_minor=1, idempotency_key="rf_0006"
    )

    assert refund.status == "succeeded"
    posts = [r for r in sandbox.received if r.method == "POST"]
    assert [r.headers["idempotency-key"] for r in posts] == ["rf_0006", "rf_0006"]
    assert len(sleeps) == 1


async def test_an_error_envelope_inside_a_2xx_is_still_an_error(
    runtime: IntegrationRuntime,
) -> None:
    async def odd(request: Request) -> JSONResponse:
        return JSONResponse({"error": {"type": "api_error", "message": "half done"}})

    app = Starlette(routes=[Route("/v1/balance", odd)])
    config = StripeConfig(
        secret_key=SecretStr("sk_test_x"), webhook_secret=SecretStr(SANDBOX_WEBHOOK_SECRET)
    )
    async with runtime.client(
        SPEC.rebased("http://odd"),
        connection="odd",
        credentials=HeaderCredentials(static_secret(config.secret_key)),
        inner=httpx.ASGITransport(app=app),
    ) as client:
        with pytest.raises(StripeAPIError, match="half done"):
            await StripeConnector(client, config).test()


async def test_a_4xx_that_is_not_stripes_envelope_stays_the_policy_layers_error(
    runtime: IntegrationRuntime,
) -> None:
    async def proxy(request: Request) -> PlainTextResponse:
        return PlainTextResponse("Request Header Or Cookie Too Large", status_code=400)

    app = Starlette(routes=[Route("/v1/balance", proxy)])
    config = StripeConfig(
        secret_key=SecretStr("sk_test_x"), webhook_secret=SecretStr(SANDBOX_WEBHOOK_SECRET)
    )
    async with runtime.client(
        SPEC.rebased("http://proxy"),
        connection="proxy",
        credentials=HeaderCredentials(static_secret(config.secret_key)),
        inner=httpx.ASGITransport(app=app),
    ) as client:
        with pytest.raises(Permanent) as caught:
            await StripeConnector(client, config).test()

    assert not isinstance(caught.value, StripeAPIError)
    assert caught.value.extensions["body"] == "Request Header Or Cookie Too Large"


async def test_server_errors_are_retried_then_transient(
    stripe: StripeConnector, sandbox: StripeSandbox, sleeps: list[float]
) -> None:
    sandbox.faults.error_rate = 1.0
    sandbox.faults.error_status = 503

    with pytest.raises(Transient):
        await stripe.test()

    assert len(sleeps) == 5


async def test_paying_the_session_delivers_a_webhook_the_connector_accepts(
    stripe: StripeConnector, sandbox: StripeSandbox, raw: httpx.AsyncClient
) -> None:
    session = await stripe.create_checkout(checkout_request())

    page = await raw.post(f"/c/pay/{session.id}")
    event = stripe.parse_webhook(sandbox.deliveries[0].headers, sandbox.deliveries[0].body)

    assert page.status_code == 303
    assert page.headers["location"] == f"https://gigforge.test/paid?session={session.id}"
    assert event.type == "checkout.session.completed"
    assert event.data["object"]["id"] == session.id
    assert event.data["object"]["client_reference_id"] == "pay_3f1d2c9a"
    paid_intent = event.data["object"]["payment_intent"]
    assert sandbox.payments[paid_intent].metadata == {"reference": "pay_3f1d2c9a"}
    refund = await stripe.refund(paid_intent, amount_minor=45_000, idempotency_key="rf_0006")
    assert refund.status == "succeeded"


def test_the_entry_point_loads_this_connector() -> None:
    points = [
        point for point in entry_points(group="gigforge.integrations") if point.name == "stripe"
    ]

    registry = Registry.from_entry_points(points)

    assert registry.get("stripe") is StripeConnector


def test_connect_form_marks_secrets_write_only_and_pins_the_version() -> None:
    schema = SPEC.config_schema()

    assert schema["properties"]["secret_key"]["writeOnly"] is True
    assert schema["properties"]["webhook_secret"]["writeOnly"] is True
    assert schema["properties"]["api_version"]["default"] == STRIPE_API_VERSION
    assert set(schema["required"]) == {"secret_key", "webhook_secret"}


def test_config_refuses_publishable_keys_and_tells_live_from_test() -> None:
    with pytest.raises(ValidationError, match="publishable"):
        StripeConfig(secret_key=SecretStr("pk_test_1"), webhook_secret=SecretStr("whsec_1"))
    with pytest.raises(ValidationError, match="whsec_"):
        StripeConfig(secret_key=SecretStr("sk_test_1"), webhook_secret=SecretStr("secret"))

    live = StripeConfig(secret_key=SecretStr("rk_live_1"), webhook_secret=SecretStr("whsec_1"))
    assert live.livemode is True


def test_spec_paces_under_the_sandbox_limit_and_rebases_onto_the_sandbox() -> None:
    assert SPEC.rate_limits == ("25/second",)
    assert SPEC.idempotency_header == "Idempotency-Key"
    assert SPEC.rebased("http://sandbox").base_url == "http://sandbox"
