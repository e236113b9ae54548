"""The OpenAI connector's contract, driven through the policy layer against the sandbox."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pydantic import BaseModel, SecretStr
from starlette.applications import Starlette
from starlette.routing import Mount

from gigforge.integrations.framework import (
    AuthExpired,
    ChatMessage,
    ChatRequest,
    Permanent,
    Registry,
    Transient,
)
from gigforge.integrations.openai import SPEC, OpenAIConnector
from gigforge.integrations.openai.connector import SDK_PLACEHOLDER_KEY
from gigforge.integrations.openai.sandbox import SANDBOX_API_KEY, OpenAISandbox

Connect = Callable[..., OpenAIConnector]


def ask(text: str, *, model: str = "gpt-4o-mini", **options: object) -> ChatRequest:
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
    assert result.model == "gpt-4o-mini-2024-07-18"
    assert result.finish_reason == "stop"
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (12, 8)
    # gpt-4o-mini: 12 x $0.15 + 8 x $0.60 per million tokens = 6.6 micro-dollars
    assert result.cost_micro_usd == 7


async def test_chat_sends_the_documented_body(connect: Connect, sandbox: OpenAISandbox) -> None:
    result = await connect().chat(ask("one two three four", max_tokens=3, temperature=0.3))

    assert sandbox.requests[-1].path == "/v1/chat/completions"
    assert sandbox.requests[-1].body == {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You write short freelance proposals."},
            {"role": "user", "content": "one two three four"},
        ],
        "max_completion_tokens": 3,
        "temperature": 0.3,
    }
    assert result.text == "Re: one two"
    assert result.finish_reason == "length"


async def test_chat_leaves_out_options_the_request_does_not_set(
    connect: Connect, sandbox: OpenAISandbox
) -> None:
    await connect().chat(ask("hello", model="o4-mini"))

    assert set(sandbox.requests[-1].body) == {"model", "messages"}


async def test_compatible_servers_can_get_max_tokens_instead(
    connect: Connect, sandbox: OpenAISandbox
) -> None:
    await connect(token_limit_parameter="max_tokens").chat(ask("hello", max_tokens=50))

    body = sandbox.requests[-1].body
    assert body["max_tokens"] == 50
    assert "max_completion_tokens" not in body


async def test_the_provider_sees_the_real_key_and_never_the_placeholder(
    connect: Connect, sandbox: OpenAISandbox
) -> None:
    connector = connect()
    await connector.test()
    await connector.chat(ask("hello"))

    assert [request.authorization for request in sandbox.requests] == [
        f"Bearer {SANDBOX_API_KEY}"
    ] * 2
    for request in sandbox.requests:
        assert not any(SDK_PLACEHOLDER_KEY in value for value in request.headers.values())


def test_the_sdk_object_never_holds_the_key(connect: Connect) -> None:
    connector = connect()

    assert connector.sdk.api_key == SDK_PLACEHOLDER_KEY
    assert SANDBOX_API_KEY not in repr(vars(connector.sdk))
    assert connector.sdk.max_retries == 0


async def test_organization_and_project_come_from_the_connection_not_the_environment(
    connect: Connect, sandbox: OpenAISandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_ORG_ID", "org-fromTheEnvironment")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj_fromTheEnvironment")

    await connect().chat(ask("hello"))
    await connect(organization="org-abc123", project="proj_xyz789").chat(ask("hello"))

    unset, configured = sandbox.requests
    assert "openai-organization" not in unset.headers
    assert "openai-project" not in unset.headers
    assert configured.headers["openai-organization"] == "org-abc123"
    assert configured.headers["openai-project"] == "proj_xyz789"


async def test_test_call_lists_the_models_the_key_can_use(connect: Connect) -> None:
    summary = await connect().test()

    assert summary["models"] == 12
    assert summary["model_ids"][:2] == ["gpt-4.1", "gpt-4.1-2025-04-14"]


async def test_a_refused_key_is_auth_expired_and_not_retried(
    connect: Connect, sandbox: OpenAISandbox, delays: list[float]
) -> None:
    connector = connect(api_key="sk-revoked-0000000000000000")

    with pytest.raises(AuthExpired):
        await connector.chat(ask("hello"))
    with pytest.raises(AuthExpired):
        await connector.test()

    assert len(sandbox.requests) == 2
    assert delays == []


async def test_an_invalid_request_is_permanent_with_openais_message(
    connect: Connect, sandbox: OpenAISandbox, delays: list[float]
) -> None:
    with pytest.raises(Permanent) as raised:
        await connect().chat(ask("hello", model="o4-mini", temperature=0.2))

    error = raised.value
    assert error.upstream_status == 400
    assert error.detail == (
        "OpenAI: Unsupported value: 'temperature' does not support 0.2 with this model. "
        "Only the default (1) value is supported."
    )
    assert error.extensions["openai_type"] == "invalid_request_error"
    assert error.extensions["openai_code"] == "unsupported_value"
    assert error.extensions["openai_param"] == "temperature"
    assert len(sandbox.requests) == 1
    assert delays == []


async def test_an_unknown_model_is_permanent_with_openais_message(connect: Connect) -> None:
    with pytest.raises(Permanent) as raised:
        await connect().chat(ask("hello", model="gpt-9"))

    assert raised.value.upstream_status == 404
    assert "The model `gpt-9` does not exist" in raised.value.detail
    assert raised.value.extensions["openai_code"] == "model_not_found"


async def test_a_429_with_retry_after_is_waited_out_then_succeeds(
    connect: Connect, sandbox: OpenAISandbox, delays: list[float]
) -> None:
    sandbox.faults.burst_429 = 2
    sandbox.faults.retry_after = 3

    summary = await connect().test()

    assert summary["models"] == 12
    assert delays == [3.0, 3.0]


async def test_a_429_on_a_completion_is_waited_out_then_answered(
    connect: Connect, sandbox: OpenAISandbox, delays: list[float]
) -> None:
    # A 429 means OpenAI did not process the request, so even this POST is safe to resend.
    sandbox.faults.burst_429 = 1
    sandbox.faults.retry_after = 4

    result = await connect().chat(ask("hello"))

    assert result.text
    assert delays == [4.0]


async def test_a_server_error_on_a_completion_is_transient_in_openais_words(
    connect: Connect, sandbox: OpenAISandbox
) -> None:
    sandbox.faults.error_rate = 1.0
    sandbox.faults.error_status = 500

    with pytest.raises(Transient) as raised:
        await connect().chat(ask("hello"))

    assert raised.value.upstream_status == 500
    assert raised.value.detail == (
        "OpenAI: The server had an error while processing your request. Sorry about that!"
    )
    assert raised.value.extensions["openai_type"] == "server_error"


async def test_a_base_url_override_reaches_a_compatible_server_under_its_prefix(
    connect: Connect, sandbox: OpenAISandbox
) -> None:
    gateway = Starlette(routes=[Mount("/compat", app=sandbox.app)])
    connector = connect(base_url="http://llm.internal/compat/v1", app=gateway)

    result = await connector.chat(ask("hello"))

    assert result.text == "Re: hello"
    assert sandbox.requests[-1].path.endswith("/compat/v1/chat/completions")


def test_the_connector_refuses_another_vendors_config(connect: Connect) -> None:
    class OtherConfig(BaseModel):
        api_key: SecretStr

    client = connect().client
    with pytest.raises(TypeError):
        OpenAIConnector(client, OtherConfig(api_key=SecretStr("sk-x")))


def test_the_registry_finds_the_connector_by_its_entry_point() -> None:
    assert Registry.from_entry_points().get("openai") is OpenAIConnector


def test_the_connect_form_hides_the_key_and_explains_the_base_url() -> None:
    schema = SPEC.config_schema()

    assert schema["required"] == ["api_key"]
    assert schema["properties"]["api_key"]["writeOnly"] is True
    assert schema["properties"]["api_key"]["format"] == "password"
    assert "OpenAI-compatible" in schema["properties"]["base_url"]["description"]
