"""Anthropic: Claude messages over the official SDK, behind the policy layer."""

from gigforge.integrations.anthropic.connector import AnthropicConnector
from gigforge.integrations.anthropic.spec import SPEC, AnthropicConfig

__all__ = ["SPEC", "AnthropicConfig", "AnthropicConnector"]
