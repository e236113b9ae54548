"""An `LLMCall` answered by the sandbox models' shared writer, as the router would answer it
from a connected sandbox: the same words, a token per word, a cost per token."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from gigforge.agents import Answer
from gigforge.integrations.framework.capabilities import ChatMessage
from gigforge.integrations.framework.sandbox_text import limit_words, sandbox_reply, word_count
from gigforge.integrations.framework.spec import ModelTask

MICRO_USD_PER_TOKEN = 2


@dataclass
class Call:
    task: ModelTask
    prompt: str
    max_tokens: int
    reply: str


@dataclass
class SandboxLLM:
    """Answers like the sandbox models; `rewrite` may alter a reply to stage a bad answer."""

    rewrite: Callable[[ModelTask, str, str], str] | None = None
    calls: list[Call] = field(default_factory=list)

    async def __call__(
        self, *, task: ModelTask, messages: Sequence[ChatMessage], max_tokens: int
    ) -> Answer:
        prompt = messages[-1].content
        reply, tokens, _ = limit_words(sandbox_reply(prompt), max_tokens)
        if self.rewrite is not None:
            reply = self.rewrite(task, prompt, reply)
        self.calls.append(Call(task=task, prompt=prompt, max_tokens=max_tokens, reply=reply))
        cost = (tokens + sum(word_count(m.content) for m in messages)) * MICRO_USD_PER_TOKEN
        return Answer(text=reply, cost_micro_usd=cost, label="sandbox:text-model")

    def tasks(self) -> list[ModelTask]:
        return [call.task for call in self.calls]
