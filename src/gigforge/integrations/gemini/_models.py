"""The models the Gemini sandbox lists, as `Model` resources
(https://ai.google.dev/api/models#Model): enough chat and embedding models for several pages."""

from __future__ import annotations

from typing import Any

CHAT_METHODS = ("generateContent", "countTokens", "createCachedContent", "batchGenerateContent")
EMBED_METHODS = ("embedContent", "countTextTokens", "countTokens", "asyncBatchEmbedContent")


def _model(
    model_id: str,
    display_name: str,
    *,
    version: str,
    methods: tuple[str, ...] = CHAT_METHODS,
    input_limit: int = 1_048_576,
    output_limit: int = 65_536,
    thinking: bool = False,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "name": f"models/{model_id}",
        "version": version,
        "displayName": display_name,
        "description": f"{display_name} (sandbox)",
        "inputTokenLimit": input_limit,
        "outputTokenLimit": output_limit,
        "supportedGenerationMethods": list(methods),
    }
    if "generateContent" in methods:
        resource |= {"temperature": 1, "topP": 0.95, "topK": 64, "maxTemperature": 2}
    if thinking:
        resource["thinking"] = True
    return resource


DEFAULT_MODELS: tuple[dict[str, Any], ...] = (
    _model("gemini-2.5-pro", "Gemini 2.5 Pro", version="2.5", thinking=True),
    _model("gemini-2.5-flash", "Gemini 2.5 Flash", version="001", thinking=True),
    _model("gemini-2.5-flash-lite", "Gemini 2.5 Flash-Lite", version="001", thinking=True),
    _model("gemini-2.0-flash", "Gemini 2.0 Flash", version="2.0", output_limit=8192),
    _model("gemini-2.0-flash-001", "Gemini 2.0 Flash 001", version="2.0", output_limit=8192),
    _model("gemini-2.0-flash-lite", "Gemini 2.0 Flash-Lite", version="2.0", output_limit=8192),
    _model("gemini-3-pro-preview", "Gemini 3 Pro Preview", version="3-pro-preview", thinking=True),
    _model("gemini-3-flash-preview", "Gemini 3 Flash Preview", version="3-flash", thinking=True),
    _model(
        "gemma-3-27b-it",
        "Gemma 3 27B",
        version="001",
        methods=("generateContent", "countTokens"),
        input_limit=131_072,
        output_limit=8192,
    ),
    _model(
        "gemini-embedding-001",
        "Gemini Embedding 001",
        version="001",
        methods=EMBED_METHODS,
        input_limit=2048,
        output_limit=1,
    ),
    _model(
        "text-embedding-004",
        "Text Embedding 004",
        version="004",
        methods=("embedContent",),
        input_limit=2048,
        output_limit=1,
    ),
)
