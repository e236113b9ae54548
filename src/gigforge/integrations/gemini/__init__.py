"""Google Gemini: `generateContent` over the official google-genai SDK, behind the policy layer."""

from gigforge.integrations.gemini.connector import GeminiConnector
from gigforge.integrations.gemini.spec import SPEC, GeminiConfig

__all__ = ["SPEC", "GeminiConfig", "GeminiConnector"]
