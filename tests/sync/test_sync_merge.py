"""The three-way merge: every change is propagated, put back by its field's owner, or shown
as a conflict; never dropped silently. Hypothesis drives random bases, edits and rules."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gigforge.sync.merge import Owner, merge

FIELDS = ("title", "status", "due", "amount")
VALUES = st.one_of(st.none(), st.integers(0, 3), st.sampled_from(["a", "b", "c"]))


State = tuple[dict[str, Owner], dict[str, Any], dict[str, Any], dict[str, Any]]


@st.composite
def states(draw: st.DrawFn) -> State:
    rules = {name: draw(st.sampled_from(list(Owner))) for name in FIELDS}
    base = {name: draw(VALUES) for name in FIELDS}
    local = {name: draw(st.one_of(st.just(base[name]), VALUES)) for name in FIELDS}
    remote = {name: draw(st.one_of(st.just(base[name]), VALUES)) for name in FIELDS}
    return rules, base, local, remote


@settings(max_examples=400, deadline=None)
@given(states())
def test_no_change_is_lost_silently(state: State) -> None:
    rules, base, local, remote = state
    result = merge(rules, base=base, local=local, remote=remote)
    conflicted = {conflict.field for conflict in result.conflicts}
    after_local = {**local, **result.pull}
    after_remote = {**remote, **result.push}
    for name, owner in rules.items():
        if name in conflicted:
            assert owner is Owner.both
            assert local[name] != base[name]
            assert remote[name] != base[name]
            assert local[name] != remote[name]
            # Both sides keep their own value until the user chooses; the base stays.
            assert after_local[name] == local[name]
            assert after_remote[name] == remote[name]
            assert result.base[name] == base[name]
            continue
        # Every other field ends the same on both sides, and that is the new base.
        assert after_local[name] == after_remote[name] == result.base[name]
        final = after_local[name]
        if local[name] != base[name] and final != local[name]:
            # Gigforge's change was overwritten: only by the tool's ownership.
            assert owner is Owner.remote
        if remote[name] != base[name] and final != remote[name]:
            assert owner is Owner.local
    # Nothing is written that would not change the side it is written to.
    assert all(local[name] != value for name, value in result.pull.items())
    assert all(remote[name] != value for name, value in result.push.items())


def test_an_echo_of_our_own_write_is_quiet() -> None:
    rules = {"title": Owner.both, "status": Owner.both}
    first = merge(
        rules,
        base={"title": "Old", "status": "todo"},
        local={"title": "New", "status": "todo"},
        remote={"title": "Old", "status": "todo"},
    )
    assert first.push == {"title": "New"}
    echo = merge(
        rules,
        base=first.base,
        local={"title": "New", "status": "todo"},
        remote={"title": "New", "status": "todo"},
    )
    assert echo.quiet


def test_a_conflict_stays_until_both_sides_agree() -> None:
    rules = {"title": Owner.both}
    found = merge(rules, base={"title": "A"}, local={"title": "B"}, remote={"title": "C"})
    assert [(c.field, c.base, c.local, c.remote) for c in found.conflicts] == [
        ("title", "A", "B", "C")
    ]
    assert found.push == {}
    assert found.pull == {}
    still = merge(
        rules,
        base=found.base,
        local={"title": "B"},
        remote={"title": "D"},
        open_conflicts=frozenset({"title"}),
    )
    assert still.quiet
    settled = merge(
        rules,
        base=found.base,
        local={"title": "D"},
        remote={"title": "D"},
        open_conflicts=frozenset({"title"}),
    )
    assert settled.base == {"title": "D"}
    assert settled.quiet


def test_owners_decide_one_sided_edits_of_fields_they_own() -> None:
    rules = {"stage": Owner.local, "notes": Owner.remote}
    result = merge(
        rules,
        base={"stage": "won", "notes": "x"},
        local={"stage": "won", "notes": "mine"},
        remote={"stage": "lost", "notes": "x"},
    )
    assert result.push == {"stage": "won"}  # the tool may not move the stage
    assert result.pull == {"notes": "x"}  # Gigforge may not edit the tool's notes
