"""The Anthropic connector's contract, driven through the policy layer against the sandbox."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import EntryPoint

import httpx
import pytest
from pydantic import BaseModel, SecretStr
from starlette.applications import Starlette
from starlette.routing import Mount

from gigforge.integrations.anthropic import SPEC, AnthropicConfig, AnthropicConnector
from gigforge.integrations.anthropic.connector import SDK_PLACEHOLDER_KEY
from gigforge.integrations.anthropic.sandbox import (
    SANDBOX_API_KEY,
    AnthropicSandbox,
    create_sandbox,
)
from gigforge.integrations.framework import (
    AuthExpired,
    ChatMessage,
    ChatRequest,
    HeaderCredentials,
    IntegrationRuntime,
    Permanent,
    Registry,
    Transient,
    static_secret,
)
from sandbox_support import RecordedSleep

Connect = Callable[..., AnthropicConnector]

ENTRY_POINT = "gigforge.integrations.anthropic:AnthropicConnector"


def ask(text: str, *, model: str = "claude-haiku-4-5", **options: object) -> ChatRequest:
    return ChatRequest(
        model=model,
        messages=[
            ChatMessage(role="system", content="You write short freelance proposals."),
            ChatMessage(role="user", content=text),
        ],
        **options,  # type: ignore[arg-type]
    )


async def test_chat_returns_the_reply_with_usage_cost_and_snapshot(connect: Connect) -> None:
    result = await connect().chat(ask("Draft a proposal for a Django API"))

    assert result.text == "Re: Draft a proposal for a Django API"
    assert result.model == "claude-haiku-4-5-20251001"
    assert result.finish_reason == "end_turn"
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (12, 8)
    # Claude Haiku 4.5: 12 x $1 + 8 x $5 per million tokens = 52 micro-dollars
    assert result.cost_micro_usd == 52


async def test_chat_sends_the_system_prompt_as_a_top_level_parameter(
    connect: Connect, sandbox: AnthropicSandbox
) -> None:
    result = await connect().chat(ask("one two three four", max_tokens=3))

    sent = sandbox.requests[-1]
    assert (sent.method, sent.path) == ("POST", "/v1/messages")
    assert sent.body == {
        "model": "claude-haiku-4-5",
        "max_tokens": 3,
        "system": "You write short freelance proposals.",
        "messages": [{"role": "user", "content": "one two three four"}],
    }
    assert result.text == "Re: one two"
    assert result.finish_reason == "max_tokens"


async def test_a_request_without_a_limit_gets_the_connections_default_max_tokens(
    connect: Connect, sandbox: AnthropicSandbox
) -> None:
    await connect().chat(ask("hello"))
    await connect(default_max_tokens=300).chat(ask("hello"))

    assert [request.body["max_tokens"] for request in sandbox.requests] == [1024, 300]


async def test_a_conversation_keeps_its_turns_and_gathers_every_system_message(
    connect: Connect, sandbox: AnthropicSandbox
) -> None:
    request = ChatRequest(
        model="claude-sonnet-5-5",
        messages=[
            ChatMessage(role="system", content="Be brief."),
            ChatMessage(role="user", content="Quote for a logo?"),
            ChatMessage(role="assistant", content="Which style?"),
            ChatMessage(role="system", content="Answer in English."),
            ChatMessage(role="user", content="Flat and blue"),
        ],
    )

    result = await connect().chat(request)

    body = sandbox.requests[-1].body
    assert body["system"] == "Be brief.\n\nAnswer in English."
    assert [(turn["role"], turn["content"]) for turn in body["messages"]] == [
        ("user", "Quote for a logo?"),
        ("assistant", "Which style?"),
        ("user", "Flat and blue"),
    ]
    assert result.text == "Re: Flat and blue"


async def test_a_requested_temperature_is_not_sent_to_an_api_version_that_refuses_it(
    connect: Connect, sandbox: AnthropicSandbox
) -> None:
    result = await connect().chat(ask("hello", temperature=0.3))

    sent = sandbox.requests[-1]
    assert sent.headers["anthropic-version"] == "2026-10-21"
    assert "temperature" not in sent.body
    assert result.text == "Re: hello"


async def test_the_provider_sees_the_real_key_and_never_the_placeholder(
    connect: Connect, sandbox: AnthropicSandbox
) -> None:
    connector = connect()
    await connector.test()
    await connector.chat(ask("hello"))

    assert len(sandbox.requests) == 3
    for request in sandbox.requests:
        assert request.api_key == SANDBOX_API_KEY
        assert "authorization" not in request.headers
        assert request.headers["anthropic-version"]
        assert not any(SDK_PLACEHOLDER_KEY in value for value in request.headers.values())


def test_the_sdk_object_never_holds_the_key(connect: Connect) -> None:
    connector = connect()

    assert connector.sdk.api_key == SDK_PLACEHOLDER_KEY
    assert SANDBOX_API_KEY not in repr(vars(connector.sdk))
    assert connector.sdk.max_retries == 0


async def test_headers_and_keys_from_the_process_environment_never_reach_the_provider(
    connect: Connect, sandbox: AnthropicSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-from-the-environment")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://elsewhere.invalid")
    monkeypatch.setenv(
        "ANTHROPIC_CUSTOM_HEADERS", "X-Leak: yes\nAuthorization: Bearer from-the-environment"
    )

    await connect().chat(ask("hello"))

    sent = sandbox.requests[-1]
    assert sent.api_key == SANDBOX_API_KEY
    assert "x-leak" not in sent.headers
    assert "authorization" not in sent.headers


async def test_test_call_counts_the_models_the_key_can_call_across_pages(
    connect: Connect, sandbox: AnthropicSandbox
) -> None:
    summary = await connect().test()

    # 23 catalogued, 5 of them retired; the API pages 20 at a time.
    assert summary["models"] == 18
    assert summary["model_ids"][:3] == ["claude-fable-5", "claude-fable-5-1", "claude-fable-5-2"]
    assert [request.query for request in sandbox.requests] == [
        {},
        {"after_id": "claude-opus-4-1-20250805"},
    ]


async def test_the_models_listing_follows_the_cursor_to_the_last_page(
    runtime: IntegrationRuntime,
) -> None:
    models = [
        {"type": "model", "id": f"claude-test-{n:02d}", "display_name": f"Test {n}",
         "created_at": "2026-01-01T00:00:00Z", "lifecycle": "active"}
        for n in range(45)
    ]  # fmt: skip
    sandbox = create_sandbox(models=models)
    client = runtime.client(
        SPEC.rebased("http://sandbox"),
        connection="paging",
        credentials=HeaderCredentials(
            static_secret(SANDBOX_API_KEY), header="x-api-key", scheme=""
        ),
        inner=httpx.ASGITransport(app=sandbox.app),
    )
    async with client:
        summary = await AnthropicConnector(client, AnthropicConfig.model_construct()).test()

    assert summary["models"] == 45
    assert [request.query.get("after_id") for request in sandbox.requests] == [
        None,
        "claude-test-19",
        "claude-test-39",
    ]


async def test_a_refused_key_is_auth_expired_and_not_retried(
    connect: Connect, sandbox: AnthropicSandbox, delays: list[float]
) -> None:
    connector = connect(api_key="sk-ant-api03-revoked")

    with pytest.raises(AuthExpired):
        await connector.chat(ask("hello"))
    with pytest.raises(AuthExpired):
        await connector.test()

    assert len(sandbox.requests) == 2
    assert delays == []


async def test_an_unknown_model_is_permanent_with_anthropics_message(
    connect: Connect, sandbox: AnthropicSandbox, delays: list[float]
) -> None:
    with pytest.raises(Permanent) as raised:
        await connect().chat(ask("hello", model="claude-9"))

    error = raised.value
    assert error.upstream_status == 404
    assert error.detail == "Anthropic: model: claude-9"
    assert error.extensions["anthropic_type"] == "not_found_error"
    assert error.extensions["request_id"].startswith("req_")
    assert len(sandbox.requests) == 1
    assert delays == []


async def test_a_conversation_without_turns_is_refused_in_anthropics_words(
    connect: Connect,
) -> None:
    only_system = ChatRequest(
        model="claude-haiku-4-5", messages=[ChatMessage(role="system", content="Be brief.")]
    )

    with pytest.raises(Permanent) as raised:
        await connect().chat(only_system)

    assert raised.value.upstream_status == 400
    assert raised.value.detail == "Anthropic: messages: at least one message is required"
    assert raised.value.extensions["anthropic_type"] == "invalid_request_error"


async def test_a_429_with_retry_after_is_waited_out_then_succeeds(
    connect: Connect, sandbox: AnthropicSandbox, delays: list[float]
) -> None:
    sandbox.faults.burst_429 = 2
    sandbox.faults.retry_after = 3

    summary = await connect().test()

    assert summary["models"] == 18
    assert delays == [3.0, 3.0]


async def test_a_429_on_a_message_is_waited_out_then_answered(
    connect: Connect, sandbox: AnthropicSandbox, delays: list[float]
) -> None:
    # A 429 means Anthropic did not process the request, so even this POST is safe to resend.
    sandbox.faults.burst_429 = 1
    sandbox.faults.retry_after = 4

    result = await connect().chat(ask("hello"))

    assert result.text == "Re: hello"
    assert delays == [4.0]


async def test_the_minute_limit_is_waited_out_for_as_long_as_retry_after_says() -> None:
    now = [1_800_000_000.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    sandbox = create_sandbox(requests_per_minute=1, clock=lambda: now[0])
    runtime = IntegrationRuntime(sleep=sleep)
    client = runtime.client(
        SPEC.rebased("http://sandbox"),
        connection="minute",
        credentials=HeaderCredentials(
            static_secret(SANDBOX_API_KEY), header="x-api-key", scheme=""
        ),
        inner=httpx.ASGITransport(app=sandbox.app),
    )
    async with client:
        connector = AnthropicConnector(client, AnthropicConfig.model_construct())
        await connector.chat(ask("first"))
        second = await connector.chat(ask("second"))

    assert second.text == "Re: second"
    assert now[0] == 1_800_000_060.0
    assert len(sandbox.requests) == 3


async def test_an_overloaded_api_is_transient_and_the_message_is_not_resent(
    connect: Connect, sandbox: AnthropicSandbox, delays: list[float]
) -> None:
    sandbox.faults.error_rate = 1.0
    sandbox.faults.error_status = 529

    with pytest.raises(Transient) as raised:
        await connect().chat(ask("hello"))

    assert raised.value.upstream_status == 529
    assert raised.value.detail == "Anthropic: Overloaded"
    assert raised.value.extensions["anthropic_type"] == "overloaded_error"
    assert sandbox.faults.served == 1
    assert delays == []


async def test_a_gateway_base_url_reaches_the_api_under_its_prefix(
    connect: Connect, sandbox: AnthropicSandbox
) -> None:
    gateway = Starlette(routes=[Mount("/anthropic", app=sandbox.app)])
    connector = connect(base_url="http://llm.internal/anthropic", app=gateway)

    result = await connector.chat(ask("hello"))

    assert result.text == "Re: hello"
    assert sandbox.requests[-1].path == "/anthropic/v1/messages"


async def test_a_message_gets_the_long_completion_timeout_through_the_bridge(
    connect: Connect, sandbox: AnthropicSandbox
) -> None:
    timeouts: list[dict[str, float]] = []

    class Recording(httpx.ASGITransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            timeouts.append(request.extensions["timeout"])
            return await super().handle_async_request(request)

    connector = connect(inner=Recording(app=sandbox.app))
    await connector.chat(ask("hello"))
    await connector.test()

    assert timeouts[0]["read"] == 600.0
    assert timeouts[1]["read"] == 30.0


async def test_a_connector_built_from_the_public_config_alone_still_chats(
    sleep: RecordedSleep, sandbox: AnthropicSandbox
) -> None:
    """What `connections` does: secrets stay in the vault and reach only the policy layer."""
    config = AnthropicConfig.model_construct(default_max_tokens=64)
    client = IntegrationRuntime(sleep=sleep).client(
        SPEC.rebased("http://sandbox"),
        connection="stored",
        credentials=HeaderCredentials(
            static_secret(SANDBOX_API_KEY),
            header=SPEC.credential_header,
            scheme=SPEC.credential_scheme,
        ),
        inner=httpx.ASGITransport(app=sandbox.app),
    )
    async with client:
        result = await AnthropicConnector(client, config).chat(ask("hello"))

    assert result.text == "Re: hello"
    assert sandbox.requests[-1].body["max_tokens"] == 64


def test_the_connector_refuses_another_vendors_config(connect: Connect) -> None:
    class OtherConfig(BaseModel):
        api_key: SecretStr

    client = connect().client
    with pytest.raises(TypeError):
        AnthropicConnector(client, OtherConfig(api_key=SecretStr("sk-x")))


def test_the_entry_point_line_loads_the_connector_under_its_slug() -> None:
    point = EntryPoint(name="anthropic", value=ENTRY_POINT, group="gigforge.integrations")

    assert Registry.from_entry_points([point]).get("anthropic") is AnthropicConnector


def test_the_key_goes_in_x_api_key_without_a_scheme() -> None:
    assert (SPEC.credential_field, SPEC.credential_header, SPEC.credential_scheme) == (
        "api_key",
        "x-api-key",
        "",
    )


def test_the_connect_form_hides_the_key_and_offers_a_default_output_limit() -> None:
    schema = SPEC.config_schema()

    assert schema["required"] == ["api_key"]
    assert schema["properties"]["api_key"]["writeOnly"] is True
    assert schema["properties"]["api_key"]["format"] == "password"
    assert schema["properties"]["default_max_tokens"]["default"] == 1024
