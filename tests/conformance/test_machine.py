"""The machine's weighting table (conformance.machine.MENU) builds exactly the menus the
single weighted rule has always drawn from: the menu's order and length are part of what
a `--seed` draws, so a change here would move every seed's examples."""

from __future__ import annotations

import itertools

import pytest

from conformance.machine import MENU, Situation, build_menu
from model.vocabulary import STORE_FAULTS


def _menu_as_it_was(enabled, has_flush, timeout_armed, failed_write, db_down, cache_down, concurrent, faults):
    # The menu builder before the table, verbatim but for its arguments.
    weights = {"read": 4, "write": 4, "flush": 2, "advance": 1, "crash": 2, "concurrent": 4}
    menu = ["read"] * weights["read"] + ["write"] * weights["write"]
    if has_flush:
        menu += ["flush"] * weights["flush"]
    for k in ("advance", "crash"):
        if k in enabled:
            menu += [k] * weights[k]
    menu += [k for k in faults if k in enabled]
    if timeout_armed:
        menu += ["write"] * weights["write"] * 2
    if failed_write:
        menu += ["read"] * weights["read"] * 2
    if db_down:
        menu.append("db-up")
    if cache_down:
        menu.append("cache-up")
    if concurrent:
        menu += ["concurrent"] * weights["concurrent"]
    return menu


def test_the_table_builds_the_menus_the_machine_always_drew_from():
    faults = STORE_FAULTS  # every policy's store faults, healing ones included
    optional = [k for k in faults if not k.endswith("-up")] + ["advance", "crash"]
    for r in range(len(optional) + 1):
        for enabled in itertools.combinations(optional, r):
            for flags in itertools.product((False, True), repeat=6):
                situation = Situation(frozenset(enabled), *flags)
                assert build_menu(situation, faults) == _menu_as_it_was(frozenset(enabled), *flags, faults)


def test_every_weight_says_why():
    assert all(w.why and w.copies > 0 for w in MENU)


def test_delete_is_drawn_only_for_a_subject_with_one():
    """A subject with the optional delete() gets deletes appended to every menu; one
    without draws from the menus above, unchanged (its seeds draw what they drew)."""
    faults = STORE_FAULTS
    for flags in itertools.product((False, True), repeat=6):
        without = build_menu(Situation(frozenset({"evict"}), *flags), faults)
        with_delete = build_menu(Situation(frozenset({"evict"}), *flags, True), faults)
        assert "delete" not in without
        assert with_delete == without + ["delete"] * 2


def test_run_delete_records_and_prints_a_step():
    from conformance.errors import UsageError
    from conformance.run import Run
    from model import Invoke, Ok

    run = Run("implementations.memory:write_through", policy="write-through")
    try:
        run.write("k0", "v1")
        run.delete("k0")
        assert run.read("k0") is None
        assert "run.delete('k0')" in run.script()
        kinds = [e.kind for e in run.events if isinstance(e, Invoke)]
        assert kinds == ["write", "delete", "read"]
        delete_op = next(e.op for e in run.events if isinstance(e, Invoke) and e.kind == "delete")
        assert any(isinstance(e, Ok) and e.op == delete_op for e in run.events)
    finally:
        run.close()
    run = Run("implementations.mutants.synchronous:cache_aside_no_invalidation", policy="cache-aside")
    try:
        with pytest.raises(UsageError, match="no delete"):
            run.delete("k0")
    finally:
        run.close()
