"""OpenAI: chat completions over the official SDK, behind the policy layer."""

from gigforge.integrations.openai.connector import OpenAIConnector
from gigforge.integrations.openai.spec import SPEC, OpenAIConfig

__all__ = ["SPEC", "OpenAIConfig", "OpenAIConnector"]
