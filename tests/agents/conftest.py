"""The agents tests' model: `SandboxLLM` (tests/agent_support.py), fresh per test."""

from __future__ import annotations

import pytest

from agent_support import SandboxLLM


@pytest.fixture
def llm() -> SandboxLLM:
    return SandboxLLM()
