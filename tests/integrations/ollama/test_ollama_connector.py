"""The Ollama connector's contract, driven through the policy layer against the sandbox."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import EntryPoint

import httpx
import pytest
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.routing import Mount

from gigforge.integrations.framework import (
    AuthMode,
    ChatMessage,
    ChatRequest,
    Permanent,
    Registry,
    Transient,
)
from gigforge.integrations.framework.registry import ENTRY_POINT_GROUP
from gigforge.integrations.ollama import SPEC, OllamaConnector
from gigforge.integrations.ollama.sandbox import OllamaSandbox
from sandbox_support import RecordedSleep

Connect = Callable[..., OllamaConnector]
SYSTEM = "You write short freelance proposals."


def ask(text: str, *, model: str = "llama3.1:8b", **options: object) -> ChatRequest:
    return ChatRequest(
        model=model,
        messages=[
            ChatMessage(role="system", content=SYSTEM),
            ChatMessage(role="user", content=text),
        ],
        **options,  # type: ignore[arg-type]
    )


def refusing_connections() -> httpx.MockTransport:
    """What the network layer raises when nothing listens on the port."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    return httpx.MockTransport(refuse)


async def test_chat_returns_the_reply_with_counts_and_no_cost(connect: Connect) -> None:
    result = await connect().chat(ask("Draft a proposal for a Django API"))

    assert result.text == "Re: Draft a proposal for a Django API"
    assert result.model == "llama3.1:8b"
    assert result.finish_reason == "stop"
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (12, 8)
    assert result.cost_micro_usd == 0


async def test_chat_sends_the_documented_body(connect: Connect, sandbox: OllamaSandbox) -> None:
    result = await connect().chat(ask("one two three four", max_tokens=3, temperature=0.3))

    sent = sandbox.requests[-1]
    assert (sent.method, sent.path) == ("POST", "/api/chat")
    assert sent.body == {
        "model": "llama3.1:8b",
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": "one two three four"},
        ],
        "stream": False,
        "options": {"num_predict": 3, "temperature": 0.3},
    }
    assert result.text == "Re: one two"
    assert result.finish_reason == "length"


async def test_options_stay_out_unless_something_sets_them(
    connect: Connect, sandbox: OllamaSandbox
) -> None:
    await connect().chat(ask("hello"))
    await connect(num_ctx=16_384).chat(ask("hello"))

    plain, widened = sandbox.requests
    assert set(plain.body) == {"model", "messages", "stream"}
    assert widened.body["options"] == {"num_ctx": 16_384}


async def test_a_model_without_a_tag_means_latest_and_keeps_its_name(connect: Connect) -> None:
    result = await connect().chat(ask("hello", model="llama3.2"))

    assert (result.text, result.model) == ("Re: hello", "llama3.2")


async def test_test_call_lists_the_pulled_models(connect: Connect, sandbox: OllamaSandbox) -> None:
    summary = await connect().test()

    assert (sandbox.requests[-1].method, sandbox.requests[-1].path) == ("GET", "/api/tags")
    assert summary["models"] == 6
    assert summary["model_ids"][:3] == ["gemma3:4b", "llama3.1:8b", "llama3.2:latest"]


async def test_no_credentials_are_sent(connect: Connect, sandbox: OllamaSandbox) -> None:
    await connect().chat(ask("hello"))

    assert "authorization" not in sandbox.requests[-1].headers


async def test_an_unknown_model_is_permanent_with_ollamas_message(
    connect: Connect, sandbox: OllamaSandbox, sleep: RecordedSleep
) -> None:
    with pytest.raises(Permanent) as raised:
        await connect().chat(ask("hello", model="llama9"))

    assert raised.value.upstream_status == 404
    assert raised.value.detail == "Ollama: model 'llama9' not found"
    assert len(sandbox.requests) == 1
    assert sleep.delays == []


async def test_a_model_that_cannot_chat_is_permanent_with_ollamas_message(
    connect: Connect,
) -> None:
    with pytest.raises(Permanent) as raised:
        await connect().chat(ask("hello", model="nomic-embed-text"))

    assert raised.value.upstream_status == 400
    assert raised.value.detail == 'Ollama: "nomic-embed-text" does not support chat'


async def test_a_server_that_is_not_running_is_transient_and_a_chat_is_not_resent(
    connect: Connect, sleep: RecordedSleep
) -> None:
    connector = connect(base_url="http://127.0.0.1:11434", inner=refusing_connections())

    with pytest.raises(Transient) as raised:
        await connector.chat(ask("hello"))

    assert raised.value.detail.startswith(
        "Ollama: no answer from http://127.0.0.1:11434; is `ollama serve` running there?"
    )
    assert raised.value.upstream_status is None
    assert sleep.delays == []


async def test_a_listing_is_retried_while_the_server_is_down(
    connect: Connect, sleep: RecordedSleep
) -> None:
    connector = connect(inner=refusing_connections())

    with pytest.raises(Transient, match="no answer from http://sandbox"):
        await connector.test()

    assert len(sleep.delays) == 5


async def test_a_429_with_retry_after_is_waited_out_then_succeeds(
    connect: Connect, sandbox: OllamaSandbox, sleep: RecordedSleep
) -> None:
    sandbox.faults.burst_429 = 2
    sandbox.faults.retry_after = 3

    summary = await connect().test()

    assert summary["models"] == 6
    assert sleep.delays == [3.0, 3.0]


async def test_a_429_on_a_chat_is_waited_out_then_answered(
    connect: Connect, sandbox: OllamaSandbox, sleep: RecordedSleep
) -> None:
    sandbox.faults.burst_429 = 1
    sandbox.faults.retry_after = 4

    result = await connect().chat(ask("hello"))

    assert result.text == "Re: hello"
    assert sleep.delays == [4.0]


async def test_a_full_queue_is_transient_in_ollamas_words(
    connect: Connect, sandbox: OllamaSandbox
) -> None:
    sandbox.faults.error_rate = 1.0
    sandbox.faults.error_status = 503

    with pytest.raises(Transient) as raised:
        await connect().chat(ask("hello"))

    assert raised.value.upstream_status == 503
    assert raised.value.detail == (
        "Ollama: server busy, please try again.  maximum pending requests exceeded"
    )
    assert sandbox.faults.served == 1


async def test_a_base_url_override_reaches_a_server_behind_a_path_prefix(
    connect: Connect, sandbox: OllamaSandbox
) -> None:
    proxy = Starlette(routes=[Mount("/ollama", app=sandbox.app)])
    connector = connect(
        base_url="http://gpu-box.internal/ollama", inner=httpx.ASGITransport(app=proxy)
    )

    result = await connector.chat(ask("hello"))

    assert result.text == "Re: hello"
    assert sandbox.requests[-1].path == "/ollama/api/chat"


def test_the_connector_refuses_another_vendors_config(connect: Connect) -> None:
    class OtherConfig(BaseModel):
        num_ctx: int | None = None

    client = connect().client
    with pytest.raises(TypeError):
        OllamaConnector(client, OtherConfig())


def test_the_registry_loads_the_connector_from_its_entry_point_line() -> None:
    point = EntryPoint(
        name="ollama", value="gigforge.integrations.ollama:OllamaConnector", group=ENTRY_POINT_GROUP
    )

    assert Registry.from_entry_points([point]).get("ollama") is OllamaConnector


def test_the_spec_is_local_keyless_and_the_form_asks_nothing_required() -> None:
    schema = SPEC.config_schema()

    assert SPEC.auth_modes == (AuthMode.none,)
    assert SPEC.credential_field is None
    assert SPEC.base_url == "http://127.0.0.1:11434"
    assert SPEC.rate_limits == ()
    assert "required" not in schema
    assert "num_ctx" in schema["properties"]
