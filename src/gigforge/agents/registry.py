"""The agents this server can run: the five built-ins plus plugins.

A plugin adds an agent through the `gigforge.agents` entry point group, naming an `Agent`
subclass whose `spec.slug` equals the entry point's name (as integrations do). A plugin that
fails to import or is malformed is logged and skipped; the rest still load. A plugin may not
replace a built-in agent: a slug already taken is refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib.metadata import EntryPoint, entry_points

import structlog

from gigforge.agents.builtin import BUILTIN_AGENTS
from gigforge.agents.errors import UnknownAgent, UnsupportedKind
from gigforge.agents.spec import Agent, AgentSpec

ENTRY_POINT_GROUP = "gigforge.agents"

logger = structlog.get_logger("gigforge.agents")


class AgentRegistry:
    def __init__(self, agents: Iterable[type[Agent]]) -> None:
        self._agents: dict[str, type[Agent]] = {}
        for agent in agents:
            if agent.spec.slug in self._agents:
                raise ValueError(f"two agents declare the slug {agent.spec.slug!r}")
            self._agents[agent.spec.slug] = agent

    @classmethod
    def from_entry_points(cls, points: Iterable[EntryPoint] | None = None) -> AgentRegistry:
        """The built-ins, then every loadable plugin of the entry point group."""
        loaded: list[type[Agent]] = list(BUILTIN_AGENTS)
        taken = {agent.spec.slug for agent in loaded}
        for point in points if points is not None else entry_points(group=ENTRY_POINT_GROUP):
            try:
                agent = point.load()
                if not (isinstance(agent, type) and issubclass(agent, Agent)):
                    raise TypeError(f"{point.value} is not an Agent subclass")
                if not isinstance(getattr(agent, "spec", None), AgentSpec):
                    raise TypeError(f"{point.value} declares no AgentSpec")
                if agent.spec.slug != point.name:
                    raise TypeError(
                        f"entry point {point.name!r} names spec slug {agent.spec.slug!r}"
                    )
                if agent.spec.slug in taken:
                    raise TypeError(f"the agent slug {agent.spec.slug!r} is already taken")
            except Exception as exc:
                logger.warning("agent plugin skipped", entry_point=point.name, error=str(exc))
                continue
            taken.add(agent.spec.slug)
            loaded.append(agent)
        return cls(loaded)

    def get(self, slug: str) -> Agent:
        try:
            return self._agents[slug]()
        except KeyError:
            raise UnknownAgent(f"No agent is installed as {slug!r}") from None

    def all(self) -> list[AgentSpec]:
        return sorted((agent.spec for agent in self._agents.values()), key=lambda s: s.slug)

    def for_kind(self, kind: str) -> Agent:
        """The agent for a kind of task: the first, by slug, that lists it as a capability."""
        for spec in self.all():
            if kind in spec.capabilities:
                return self._agents[spec.slug]()
        raise UnsupportedKind(f"No installed agent does {kind!r} tasks")
