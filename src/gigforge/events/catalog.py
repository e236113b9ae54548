"""Fill `kit.outbox.CATALOG` by importing every domain's `events.py`.

A domain declares its event types in `gigforge.<domain>.events`; importing that module
registers them. The app calls `import_event_types()` at start so the catalog served at
`/api/v1/events/types` lists every type, whichever routes happened to be imported first.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil

import gigforge
from gigforge.kit.outbox import CATALOG, EventPayload

#: Packages whose `events` module is not a catalog of event types.
NOT_DOMAINS = frozenset({"kit", "events", "web", "migrations", "integrations"})


def domains_with_events() -> list[str]:
    """Every `gigforge.<domain>.events` module that exists, by module name."""
    found = []
    for module in pkgutil.iter_modules(gigforge.__path__):
        if not module.ispkg or module.name in NOT_DOMAINS:
            continue
        name = f"gigforge.{module.name}.events"
        if importlib.util.find_spec(name) is not None:
            found.append(name)
    return sorted(found)


def import_event_types() -> dict[str, type[EventPayload]]:
    """Import every domain's event types; the catalog afterwards, by event name."""
    for name in domains_with_events():
        importlib.import_module(name)
    return dict(sorted(CATALOG.items()))
