"""Ollama failures as framework errors, in Ollama's words.

The policy transport classes a failure by its status (Permanent on 4xx, Transient on 5xx and on
a refused or dropped connection) and keeps an excerpt of the body. Ollama's error body is
`{"error": "<message>"}`, e.g. 404 `{"error": "model 'llama9' not found"}` (older servers say
`model "llama9" not found, try pulling it first`); the error keeps its class and takes that
message. A failure with no answer at all most often means the server is not running, so its
message says where the connector looked.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from gigforge.integrations.framework import IntegrationError, RateLimited, Transient
from gigforge.integrations.ollama.mapping import error_message
from gigforge.integrations.ollama.spec import SPEC


@contextmanager
def ollama_errors(server: str) -> Iterator[None]:
    """Run a call to the server at `server` so that its errors speak Ollama's words."""
    try:
        yield
    except IntegrationError as exc:
        translated = retold(exc, server=server)
        if translated is exc:
            raise
        raise translated from exc


def retold(error: IntegrationError, *, server: str) -> IntegrationError:
    message = error_message(error.extensions.get("body"))
    if message is not None:
        detail = f"Ollama: {message}"
        if isinstance(error, RateLimited):
            return RateLimited(
                detail,
                integration=SPEC.slug,
                retry_after=error.retry_after,
                status=error.upstream_status,
            )
        return type(error)(detail, integration=SPEC.slug, status=error.upstream_status)
    if isinstance(error, Transient) and error.upstream_status is None:
        return Transient(
            f"Ollama: no answer from {server}; is `ollama serve` running there? ({error.detail})",
            integration=SPEC.slug,
        )
    return error
