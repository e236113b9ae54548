"""The three-way merge at the heart of the sync engine. Pure: no database, no network.

For each synced field there are three values: the **base** (what both sides held at the last
sync), the **local** value (Gigforge's now) and the **remote** value (the tool's now). A side
changed a field when its value differs from the base. Then:

- only Gigforge changed it: push it to the tool;
- only the tool changed it: pull it into Gigforge;
- both changed it to the same value: nothing to do but move the base;
- both changed it to different values: the field's rule decides. `local` keeps Gigforge's
  (and pushes it), `remote` keeps the tool's (and pulls it), `both` keeps neither: it is a
  **conflict**, shown to the user with both values, and the field is left alone on both
  sides until they choose.

A field a side changed but does not own is not propagated (a `remote`-owned field edited in
Gigforge is put back from the tool; a `local`-owned field edited in the tool is overwritten by
a push). Nothing is ever lost silently: every overwrite of a change is either decided by a
rule the user set, or is a conflict.

Echo suppression falls out of this: after a push the base is what was pushed, so the tool
sending the same values back (its webhook about our own write) changes nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class Owner(enum.StrEnum):
    local = "local"  # Gigforge decides; the tool's edits are overwritten
    remote = "remote"  # the tool decides; Gigforge's edits are put back
    both = "both"  # either side may change it; different changes at once are a conflict


@dataclass(frozen=True)
class Conflict:
    field: str
    base: Any
    local: Any
    remote: Any


@dataclass
class Merge:
    push: dict[str, Any] = field(default_factory=dict)  # write these to the tool
    pull: dict[str, Any] = field(default_factory=dict)  # write these to Gigforge
    conflicts: list[Conflict] = field(default_factory=list)
    base: dict[str, Any] = field(default_factory=dict)  # the new base after both writes

    @property
    def quiet(self) -> bool:
        """Nothing to write on either side and nothing to show (an echo, say)."""
        return not (self.push or self.pull or self.conflicts)


_MISSING = object()


def merge(
    rules: Mapping[str, Owner],
    *,
    base: Mapping[str, Any],
    local: Mapping[str, Any],
    remote: Mapping[str, Any],
    open_conflicts: frozenset[str] = frozenset(),
) -> Merge:
    """Merge one record's fields. `rules` names every synced field and its owner; fields
    missing from a side are taken as unchanged on that side. Fields in `open_conflicts` (shown
    to the user, not resolved yet) stay put unless both sides now agree."""
    result = Merge()
    for name, owner in rules.items():
        was = base.get(name, _MISSING)
        mine = local.get(name, was)
        theirs = remote.get(name, was)
        local_changed = mine != was
        remote_changed = theirs != was
        if mine == theirs:
            # Agreed (unchanged, or both moved to the same value; an open conflict ends here).
            if mine is not _MISSING:
                result.base[name] = mine
            continue
        if name in open_conflicts:
            if was is not _MISSING:
                result.base[name] = was
            continue
        if local_changed and not remote_changed:
            if owner is Owner.remote:
                result.pull[name] = theirs  # not Gigforge's to change: put the tool's back
                result.base[name] = theirs
            else:
                result.push[name] = mine
                result.base[name] = mine
        elif remote_changed and not local_changed:
            if owner is Owner.local:
                result.push[name] = mine  # not the tool's to change: overwrite it
                result.base[name] = mine
            else:
                result.pull[name] = theirs
                result.base[name] = theirs
        else:  # both changed, differently
            if owner is Owner.local:
                result.push[name] = mine
                result.base[name] = mine
            elif owner is Owner.remote:
                result.pull[name] = theirs
                result.base[name] = theirs
            else:
                result.conflicts.append(
                    Conflict(
                        field=name,
                        base=None if was is _MISSING else was,
                        local=None if mine is _MISSING else mine,
                        remote=None if theirs is _MISSING else theirs,
                    )
                )
                if was is not _MISSING:
                    result.base[name] = was
    return result
