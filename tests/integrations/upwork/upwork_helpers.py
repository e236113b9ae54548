"""Shared by the Upwork tests: the sandbox's address, a recorded sleep and a token holder.

A uniquely named module rather than conftest, so importing it never picks up another
directory's conftest.
"""

from __future__ import annotations

from collections.abc import Callable

from gigforge.integrations.upwork import SPEC, UpworkConnector
from sandbox_support import RecordedSleep, SandboxTokens

SANDBOX_URL = "http://sandbox"
SANDBOX_SPEC = SPEC.rebased(SANDBOX_URL)

Connect = Callable[..., UpworkConnector]


__all__ = ["SANDBOX_SPEC", "SANDBOX_URL", "Connect", "RecordedSleep", "SandboxTokens"]
