"""The last resort for drafting: Jinja2 templates filled in, with no model and no network.

This connector is one of the documented exceptions to "one road out": it makes no HTTP call
at all, so `self.client` goes unused and the policy layer has nothing to pace, retry or log.
Templates are read from the package or the user's folder and rendered in-process; nothing
leaves the machine, so it answers when every AI provider is down, out of budget or not yet
connected.

`chat` follows the contract in `mapping`: the model names the template, the last user message
carries its variables as JSON. What it returns is not AI output, and says so twice: the
connection's title reads "Template writer (not AI)", and every result has
`finish_reason == "template"`, on which the UI must show "written from a template, not by AI"
(`ChatResult` is shared by all LLM connectors, so the mark is that value, not a new field).
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel

from gigforge.integrations.framework import LLM, ChatRequest, ChatResult, IntegrationSpec
from gigforge.integrations.template_writer.library import TemplateLibrary
from gigforge.integrations.template_writer.mapping import (
    model_for,
    template_name,
    to_chat_result,
    to_variables,
)
from gigforge.integrations.template_writer.spec import SPEC, TemplateWriterConfig


class TemplateWriterConnector(LLM):
    """One connection: the shipped templates plus, if configured, the user's folder."""

    spec: ClassVar[IntegrationSpec] = SPEC
    config: TemplateWriterConfig

    def __init__(self, client: httpx.AsyncClient, config: BaseModel) -> None:
        if not isinstance(config, TemplateWriterConfig):
            raise TypeError(
                f"TemplateWriterConnector needs a TemplateWriterConfig, not {type(config).__name__}"
            )
        super().__init__(client, config)
        self.library = TemplateLibrary(config.templates_dir)

    async def chat(self, request: ChatRequest) -> ChatResult:
        """Fill the template the model names. Raises `Permanent` for an unknown template,
        a last user message that is not a JSON object, a required variable left out, or a
        template the sandbox stops."""
        return await asyncio.to_thread(self._draft, request)

    async def test(self) -> dict[str, Any]:
        """Compile every template: proves the folder is readable and the templates parse."""
        names = await asyncio.to_thread(self.library.check)
        return {
            "models": [model_for(name) for name in names],
            "templates_dir": self.config.templates_dir,
        }

    def _draft(self, request: ChatRequest) -> ChatResult:
        name = template_name(request.model, self.library.names())
        variables = to_variables(request.messages)
        return to_chat_result(name, self.library.render(name, variables))
