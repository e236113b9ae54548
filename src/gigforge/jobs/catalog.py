"""The agents this process can run: the built-ins and the plugins installed with it, read once."""

from __future__ import annotations

import functools

from gigforge.agents import AgentRegistry


@functools.cache
def agents() -> AgentRegistry:
    return AgentRegistry.from_entry_points()
