"""The Gemini connector's contract, driven through the policy layer against the sandbox."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import EntryPoint

import pytest
from pydantic import BaseModel, SecretStr
from starlette.applications import Starlette
from starlette.routing import Mount

from gigforge.integrations.framework import (
    AuthExpired,
    ChatMessage,
    ChatRequest,
    Permanent,
    RateLimited,
    Registry,
    Transient,
)
from gigforge.integrations.framework.registry import ENTRY_POINT_GROUP
from gigforge.integrations.gemini import SPEC, GeminiConnector
from gigforge.integrations.gemini.connector import SDK_PLACEHOLDER_KEY
from gigforge.integrations.gemini.sandbox import SANDBOX_API_KEY, GeminiSandbox, create_sandbox
from sandbox_support import RecordedSleep

Connect = Callable[..., GeminiConnector]
SYSTEM = "You write short freelance proposals."


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def ask(text: str, *, model: str = "gemini-2.5-flash", **options: object) -> ChatRequest:
    return ChatRequest(
        model=model,
        messages=[
            ChatMessage(role="system", content=SYSTEM),
            ChatMessage(role="user", content=text),
        ],
        **options,  # type: ignore[arg-type]
    )


async def test_chat_returns_the_reply_with_usage_cost_and_model_version(connect: Connect) -> None:
    result = await connect().chat(ask("Draft a proposal for a Django API"))

    assert result.text == "Re: Draft a proposal for a Django API"
    assert result.model == "gemini-2.5-flash"
    assert result.finish_reason == "STOP"
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (12, 8)
    # gemini-2.5-flash: 12 x $0.30 + 8 x $2.50 per million tokens = 23.6 micro-dollars
    assert result.cost_micro_usd == 24


async def test_chat_sends_the_documented_body(connect: Connect, sandbox: GeminiSandbox) -> None:
    result = await connect().chat(ask("one two three four", max_tokens=3, temperature=0.3))

    sent = sandbox.requests[-1]
    assert (sent.method, sent.path) == ("POST", "/v1beta/models/gemini-2.5-flash:generateContent")
    assert sent.body == {
        "contents": [{"parts": [{"text": "one two three four"}], "role": "user"}],
        "systemInstruction": {"parts": [{"text": SYSTEM}]},
        "generationConfig": {"temperature": 0.3, "maxOutputTokens": 3},
    }
    assert result.text == "Re: one two"
    assert result.finish_reason == "MAX_TOKENS"


async def test_assistant_turns_go_as_model_turns_and_unset_options_stay_out(
    connect: Connect, sandbox: GeminiSandbox
) -> None:
    request = ChatRequest(
        model="gemini-2.5-pro",
        messages=[
            ChatMessage(role="user", content="Hi"),
            ChatMessage(role="assistant", content="Hello, how can I help?"),
            ChatMessage(role="user", content="Write a bid"),
        ],
    )

    result = await connect().chat(request)

    assert sandbox.requests[-1].body == {
        "contents": [
            {"parts": [{"text": "Hi"}], "role": "user"},
            {"parts": [{"text": "Hello, how can I help?"}], "role": "model"},
            {"parts": [{"text": "Write a bid"}], "role": "user"},
        ],
        "generationConfig": {},
    }
    assert result.text == "Re: Write a bid"


async def test_system_messages_alone_are_refused_before_any_call(
    connect: Connect, sandbox: GeminiSandbox
) -> None:
    request = ChatRequest(
        model="gemini-2.5-flash", messages=[ChatMessage(role="system", content=SYSTEM)]
    )

    with pytest.raises(Permanent, match="at least one user or assistant message"):
        await connect().chat(request)

    assert sandbox.requests == []


async def test_the_provider_sees_the_real_key_and_never_the_placeholder(
    connect: Connect, sandbox: GeminiSandbox
) -> None:
    connector = connect()
    await connector.test()
    await connector.chat(ask("hello"))

    assert [request.api_key for request in sandbox.requests] == [SANDBOX_API_KEY] * 2
    for request in sandbox.requests:
        assert not any(SDK_PLACEHOLDER_KEY in value for value in request.headers.values())
        assert "key" not in request.query
        assert "Gigforge" in request.headers["user-agent"]


async def test_the_environment_cannot_redirect_the_sdk(
    connect: Connect, sandbox: GeminiSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
    monkeypatch.setenv("GOOGLE_API_KEY", "AIza-from-the-environment")
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", "https://elsewhere.invalid")
    monkeypatch.setenv("GOOGLE_GENAI_API_VERSION", "v1")

    result = await connect().chat(ask("hello"))

    assert result.text == "Re: hello"
    assert sandbox.requests[-1].path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert sandbox.requests[-1].api_key == SANDBOX_API_KEY


async def test_test_call_lists_every_model_across_pages(connect: Connect) -> None:
    paged = create_sandbox(max_page_size=4)

    summary = await connect(app=paged.app).test()

    assert [request.query for request in paged.requests] == [
        {"pageSize": "1000"},
        {"pageSize": "1000", "pageToken": "sandbox-page-4"},
        {"pageSize": "1000", "pageToken": "sandbox-page-8"},
    ]
    assert summary["models"] == 11
    assert summary["chat_models"] == 9
    assert summary["model_ids"][:3] == [
        "gemini-2.0-flash",
        "gemini-2.0-flash-001",
        "gemini-2.0-flash-lite",
    ]
    assert "gemini-embedding-001" not in summary["model_ids"]


async def test_a_wrong_key_is_auth_expired_in_googles_words_and_not_retried(
    connect: Connect, sandbox: GeminiSandbox, sleep: RecordedSleep
) -> None:
    connector = connect(api_key="AIzaSyD-revoked-000000000000000000000000")

    with pytest.raises(AuthExpired) as chatting:
        await connector.chat(ask("hello"))
    with pytest.raises(AuthExpired) as testing:
        await connector.test()

    for raised in (chatting, testing):
        assert raised.value.detail == "Gemini: API key not valid. Please pass a valid API key."
        assert raised.value.upstream_status == 400
        assert raised.value.extensions["google_reason"] == "API_KEY_INVALID"
    assert len(sandbox.requests) == 2
    assert sleep.delays == []


async def test_a_missing_key_is_auth_expired(connect: Connect) -> None:
    with pytest.raises(AuthExpired) as raised:
        await connect(api_key="").test()

    assert raised.value.upstream_status == 403
    assert raised.value.extensions["google_status"] == "PERMISSION_DENIED"
    assert "unregistered callers" in raised.value.detail


@pytest.mark.parametrize("model", ["gemini-9", "gemini-embedding-001"])
async def test_a_model_that_cannot_chat_is_permanent_with_googles_message(
    connect: Connect, sandbox: GeminiSandbox, sleep: RecordedSleep, model: str
) -> None:
    with pytest.raises(Permanent) as raised:
        await connect().chat(ask("hello", model=model))

    error = raised.value
    assert error.upstream_status == 404
    assert error.detail == (
        f"Gemini: models/{model} is not found for API version v1beta, or is not supported for "
        "generateContent. Call ListModels to see the list of available models and their "
        "supported methods."
    )
    assert error.extensions["google_status"] == "NOT_FOUND"
    assert len(sandbox.requests) == 1
    assert sleep.delays == []


async def test_a_429_with_retry_after_is_waited_out_then_succeeds(
    connect: Connect, sandbox: GeminiSandbox, sleep: RecordedSleep
) -> None:
    sandbox.faults.burst_429 = 2
    sandbox.faults.retry_after = 3

    summary = await connect().test()

    assert summary["models"] == 11
    assert sleep.delays == [3.0, 3.0]


async def test_a_429_on_generate_is_waited_out_then_answered(
    connect: Connect, sandbox: GeminiSandbox, sleep: RecordedSleep
) -> None:
    # A 429 means Google did not process the request, so even this POST is safe to resend.
    sandbox.faults.burst_429 = 1
    sandbox.faults.retry_after = 4

    result = await connect().chat(ask("hello"))

    assert result.text == "Re: hello"
    assert sleep.delays == [4.0]


async def test_a_spent_quota_is_rate_limited_for_googles_retry_delay(
    connect: Connect, sleep: RecordedSleep
) -> None:
    clock = Clock()
    limited = create_sandbox(requests_per_minute=1, clock=clock)
    connector = connect(app=limited.app)
    await connector.chat(ask("first"))
    clock.now += 15

    with pytest.raises(RateLimited) as raised:
        await connector.chat(ask("second"))

    error = raised.value
    # No Retry-After header: the policy layer waited as long as Google's RetryInfo said, each
    # time (the sandbox's clock stands still, so the quota never frees), then gave up.
    assert sleep.delays == [45.0] * 5
    assert error.retry_after == 45.0
    assert error.detail.startswith("Gemini: You exceeded your current quota")
    assert error.extensions["quota_ids"] == (
        "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
    )


async def test_an_overloaded_model_is_transient_in_googles_words(
    connect: Connect, sandbox: GeminiSandbox
) -> None:
    sandbox.faults.error_rate = 1.0
    sandbox.faults.error_status = 503

    with pytest.raises(Transient) as raised:
        await connect().chat(ask("hello"))

    assert raised.value.upstream_status == 503
    assert raised.value.detail == "Gemini: The model is overloaded. Please try again later."
    assert raised.value.extensions["google_status"] == "UNAVAILABLE"
    # A completion is not resent after a server error: it may have been produced and billed.
    assert sandbox.faults.served == 1


async def test_a_blocked_prompt_is_permanent_although_it_is_a_200(connect: Connect) -> None:
    with pytest.raises(Permanent) as raised:
        await connect().chat(ask("Tell me about the forbidden-topic"))

    assert raised.value.detail == "Gemini: the prompt was blocked (PROHIBITED_CONTENT)"
    assert raised.value.extensions["reason"] == "prompt_blocked"


async def test_a_base_url_override_reaches_a_gateway_under_its_prefix(
    connect: Connect, sandbox: GeminiSandbox
) -> None:
    gateway = Starlette(routes=[Mount("/gemini", app=sandbox.app)])
    connector = connect(base_url="http://llm.internal/gemini/v1beta", app=gateway)

    result = await connector.chat(ask("hello"))

    assert result.text == "Re: hello"
    assert sandbox.requests[-1].path == "/gemini/v1beta/models/gemini-2.5-flash:generateContent"


def test_the_connector_refuses_another_vendors_config(connect: Connect) -> None:
    class OtherConfig(BaseModel):
        api_key: SecretStr

    client = connect().client
    with pytest.raises(TypeError):
        GeminiConnector(client, OtherConfig(api_key=SecretStr("AIza-x")))


def test_the_registry_loads_the_connector_from_its_entry_point_line() -> None:
    point = EntryPoint(
        name="gemini", value="gigforge.integrations.gemini:GeminiConnector", group=ENTRY_POINT_GROUP
    )

    assert Registry.from_entry_points([point]).get("gemini") is GeminiConnector


def test_the_key_goes_in_googles_header_and_the_form_hides_it() -> None:
    schema = SPEC.config_schema()

    assert (SPEC.credential_header, SPEC.credential_scheme) == ("x-goog-api-key", "")
    assert schema["required"] == ["api_key"]
    assert schema["properties"]["api_key"]["writeOnly"] is True
    assert schema["properties"]["api_key"]["format"] == "password"
