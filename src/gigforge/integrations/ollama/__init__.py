"""Ollama: chat with models on a local Ollama server through its native HTTP API."""

from gigforge.integrations.ollama.connector import OllamaConnector
from gigforge.integrations.ollama.spec import SPEC, OllamaConfig

__all__ = ["SPEC", "OllamaConfig", "OllamaConnector"]
