from __future__ import annotations

import httpx
import pytest

from gigforge.integrations.framework import (
    ChatMessage,
    ChatRequest,
    HeaderCredentials,
    IntegrationRuntime,
    Permanent,
    RateLimited,
    Transient,
    Unavailable,
    static_secret,
)
from gigforge.integrations.framework.fallback import NoProviderAnswered, first_answer
from gigforge.integrations.openai import SPEC, OpenAIConfig, OpenAIConnector
from gigforge.integrations.openai.sandbox import SANDBOX_API_KEY, create_sandbox


async def _fails(error: Exception) -> str:
    raise error


async def test_moves_on_for_transient_rate_limited_and_unavailable() -> None:
    chain = [
        ("openai", Transient("down", integration="openai")),
        ("anthropic", RateLimited("slow", integration="anthropic", retry_after=3)),
        ("gemini", Unavailable("open breaker", integration="gemini")),
        ("ollama", None),
    ]

    async def call(error: Exception | None) -> str:
        if error is not None:
            raise error
        return "answer"

    answered = await first_answer(chain, call)
    assert answered.result == "answer"
    assert answered.answered_by == "ollama"
    assert [label for label, _ in answered.skipped] == ["openai", "anthropic", "gemini"]


async def test_a_rejected_request_is_not_sent_elsewhere() -> None:
    calls: list[str] = []

    async def call(label: str) -> str:
        calls.append(label)
        raise Permanent("bad request", integration=label, status=400)

    with pytest.raises(Permanent):
        await first_answer([("openai", "openai"), ("anthropic", "anthropic")], call)
    assert calls == ["openai"]


async def test_an_exhausted_chain_says_what_each_did() -> None:
    async def call(label: str) -> str:
        raise Transient("down", integration=label)

    with pytest.raises(NoProviderAnswered) as raised:
        await first_answer([("a", "a"), ("b", "b")], call)
    assert "a: Transient" in raised.value.detail
    with pytest.raises(NoProviderAnswered):
        await first_answer([], call)


async def test_llm_chain_falls_back_to_the_second_connection() -> None:
    broken, working = create_sandbox(), create_sandbox()
    broken.faults.error_rate = 1.0

    async def no_wait(delay: float) -> None:
        return None

    runtime = IntegrationRuntime(sleep=no_wait)

    def connector(sandbox: object, label: str) -> OpenAIConnector:
        client = runtime.client(
            SPEC.rebased("http://sandbox"),
            connection=label,
            credentials=HeaderCredentials(static_secret(SANDBOX_API_KEY)),
            inner=httpx.ASGITransport(app=sandbox.app),  # type: ignore[attr-defined]
        )
        return OpenAIConnector(client, OpenAIConfig.model_construct())

    request = ChatRequest(model="gpt-4o-mini", messages=[ChatMessage(role="user", content="hi")])
    chain = [("openai-primary", connector(broken, "a")), ("openai-backup", connector(working, "b"))]
    answered = await first_answer(chain, lambda llm: llm.chat(request))
    assert answered.answered_by == "openai-backup"
    assert answered.skipped == (("openai-primary", "Transient"),)
    assert answered.result.usage.prompt_tokens > 0
