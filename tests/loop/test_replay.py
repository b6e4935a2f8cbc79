"""Closing the loop (issue 5, item 6): every refutation `prove --scenarios` exports is
replayed on an implementation that embodies its protocol — it must reproduce the violation,
with the store calls the model made — and on the correct implementation of the same policy,
which must pass (or refuse a schedule its different store calls cannot follow, and then pass
the ordinary check).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from conformance.strategies import ScheduleMismatch
from model import CONFORMS, VIOLATES, policy
from model.protocols import STALENESS, property_by_id, protocol_by_id, stronger_guarantee
from model.protocols.builder import make_scenario

from tests.implementations.test_builtins import BUILTINS
from tests.loop.scenarios import (
    export_row,
    exported,
    model_calls,
    replay_scenario,
    store_calls,
)

CONFORMS_ = "conforms"  # the replay runs and passes
REFUSES = "refuses"  # "the schedule does not match the subject"; the default check passes

WT, CA, WA, WB = "write-through", "cache-aside", "write-around", "write-behind"
MEMORY_WB = "implementations.memory:write_behind"
MEMORY_DURABLE = "implementations.memory:durable_write_behind"


@dataclass(frozen=True)
class Loop:
    """How one exported scenario is replayed.

    embodiments: factories whose store calls are the protocol's (checked call by call).
    policy: the contract the violation is judged under.
    clause: the clause the replay reports.
    correct: (factory, policy, outcome) for correct implementations.
    """

    embodiments: tuple[str, ...]
    policy: str
    clause: str
    correct: tuple[tuple[str, str, str], ...]


LOOPS: dict[str, Loop] = {
    "wt-cache-first-set": Loop(
        ("implementations.seeds.millisecond:write_through",  # seed 000
         "implementations.seeds.dual_ledger:cache_first",  # seed 003
         "implementations.mutants.synchronous:write_through_cache_first"),
        WT, "no-phantom",
        (("implementations.memory:write_through", WT, CONFORMS_),)),
    # The model's property is consistent-at-quiescence (clause convergence), but the replay
    # reads every key back before the TTLs run out (conformance/replay.py), and that read
    # already returns the loser of the race: linearizable-reads is reported first.
    "wt-db-first-set": Loop(
        ("implementations.seeds.poc62:write_through",  # seed 001
         "implementations.seeds.tradeoffs:write_through",  # seed 002
         "implementations.seeds.dual_ledger:db_first",  # seed 003
         "implementations.mutants.synchronous:write_through_set_race"),
        WT, "linearizable-reads",
        (("implementations.memory:write_through", WT, CONFORMS_),)),
    # Same: the stale fill is read back before convergence is checked.
    "ca-invalidate": Loop(
        ("implementations.seeds.quick_recap:cache_aside",  # seed 004
         "implementations.mutants.synchronous:cache_aside_unguarded_fill"),
        CA, "linearizable-reads",
        (("implementations.memory:cache_aside", CA, CONFORMS_),)),
    # no-lost-ack is a violation only for a subject that declares durable = True.
    "wb-volatile": Loop(
        ("implementations.protocols:wb_volatile_declared_durable",),
        WB, "bounded-loss",
        ((MEMORY_DURABLE, WB, CONFORMS_),
         # its flush makes no store call on an empty buffer; the model's put_many does
         (MEMORY_WB, WB, REFUSES))),
    "wb-requeue": Loop(
        ("implementations.protocols:wb_requeue",),
        WB, "eventual-persistence",
        # both flush with put_many, and the durable one also calls len(queue)
        ((MEMORY_DURABLE, WB, REFUSES), (MEMORY_WB, WB, REFUSES))),
    "wb-pop-before-commit": Loop(
        ("implementations.seeds.millisecond:write_behind",  # seed 000 (LIST + worker)
         "implementations.seeds.poc62:durable_write_behind"),  # seed 001 (durable queue)
        WB, "bounded-loss",
        ((MEMORY_DURABLE, WB, CONFORMS_), (MEMORY_WB, WB, REFUSES))),
    # read-your-writes is refuted; cache-aside's linearizable reads forbid it, write-around's
    # bounded staleness allows it (see the write-around tests below).
    "wa-no-invalidate": Loop(
        ("implementations.protocols:wa_no_invalidate",
         "implementations.mutants.synchronous:cache_aside_no_invalidation"),
        CA, "linearizable-reads",
        (("implementations.memory:cache_aside", CA, CONFORMS_),
         ("implementations.memory:write_around", WA, CONFORMS_))),
}

EMBODIED = [(p, t) for p, loop in LOOPS.items() for t in loop.embodiments]
CORRECT = [(p, t, pol, outcome) for p, loop in LOOPS.items() for t, pol, outcome in loop.correct]


def _short(target: str) -> str:
    return target.rsplit(".", 1)[-1]


def test_every_exported_scenario_has_a_loop():
    """A newly refuted row must get its replay here, and a loop must not outlive its row."""
    assert sorted(exported()) == sorted(LOOPS)
    assert len(LOOPS) == 7


@pytest.mark.parametrize("protocol", sorted(LOOPS))
def test_scenario_policy_is_the_protocols(protocol):
    """The export names the model's policy; a loop judges under it, except on a
    stronger-guarantee row (derived by the catalog: the property asks for more than the
    policy promises), which it judges under a policy that promises what the property asks."""
    ex = exported()[protocol]
    assert ex.data["policy"] == protocol_by_id(protocol).policy
    prop = property_by_id(ex.property)
    if stronger_guarantee(protocol_by_id(protocol), prop) is None:
        assert LOOPS[protocol].policy == ex.data["policy"]
    else:
        assert policy(LOOPS[protocol].policy).promises(prop.clause)


@pytest.mark.parametrize("protocol, target", EMBODIED, ids=[f"{p}-{_short(t)}" for p, t in EMBODIED])
def test_embodiment_reproduces_the_violation(protocol, target):
    ex = exported()[protocol]
    loop = LOOPS[protocol]
    report = replay_scenario(target, loop.policy, ex.data)
    # The subject made the model's store calls, in the model's order: the replay ran the
    # trace, not merely as many calls by the same clients (the scheduler checks only that).
    expected = model_calls(ex.trace)
    assert store_calls(report)[: len(expected)] == expected
    assert report.verdict.status == VIOLATES, report.verdict
    assert report.verdict.violation.clause == loop.clause, report.verdict
    assert report.counterexample is not None


@pytest.mark.parametrize("protocol, target, policy, outcome", CORRECT,
                         ids=[f"{p}-{_short(t)}-{o}" for p, t, _, o in CORRECT])
def test_correct_implementation_passes(protocol, target, policy, outcome):
    data = exported()[protocol].data
    if outcome == CONFORMS_:
        report = replay_scenario(target, policy, data)
        assert report.verdict.status == CONFORMS, report.verdict
        return
    with pytest.raises(ScheduleMismatch, match="the schedule does not match the subject"):
        replay_scenario(target, policy, data)
    # And the default check passes: that check (`run_check(target, policy)`, seed 0, the
    # default budget) is exactly test_builtin_conforms's for this built-in, which asserts
    # CONFORMS (UNKNOWN is not a pass) and the full budget, so it is not run twice.
    assert (target, policy) in {(f"implementations.memory:{name}", pol) for name, (pol, _) in BUILTINS}


def test_volatile_write_behind_may_lose_the_write():
    """The same trace on a subject that declares itself volatile: the loss is allowed."""
    ex = exported()["wb-volatile"]
    report = replay_scenario("implementations.protocols:wb_volatile", WB, ex.data)
    expected = model_calls(ex.trace)
    assert store_calls(report)[: len(expected)] == expected
    assert report.verdict.status == CONFORMS, report.verdict
    assert any(re.search(r"lost 1 write .*\('v1'\), allowed: volatile", r)
               for r in report.verdict.relaxations), report.verdict.relaxations


# ---- wa-no-invalidate under write-around ------------------------------------------------

WA_EMBODIMENT = "implementations.protocols:wa_no_invalidate"


def test_write_around_allows_the_exported_stale_read():
    """Under write-around the read of the earlier fill is allowed (bounded staleness).

    The exported scenario starts with the cache holding v0, "an earlier fill, TTL not
    expired" in the model; scenario@1 has no TTL for initial entries and the replayer sets
    none, so the entry never expires and the run ends in a convergence violation that the
    model's assumption excludes. Until the format carries the TTL this is an expected
    failure; any other failure fails the test.
    """
    ex = exported()["wa-no-invalidate"]
    report = replay_scenario(WA_EMBODIMENT, WA, ex.data)
    expected = model_calls(ex.trace)
    assert store_calls(report)[: len(expected)] == expected
    if report.verdict.status == VIOLATES:
        v = report.verdict.violation
        assert v.clause == "convergence" and "'v0' (no TTL)" in v.observed, report.verdict
        pytest.xfail("scenario@1 initial cache entries have no TTL: the earlier fill never expires")
    assert report.verdict.status == CONFORMS, report.verdict
    assert any("allowed, staleness bound" in r for r in report.verdict.relaxations)


@pytest.fixture(scope="module")
def wa_with_fill():
    """The same refutation with the earlier fill made by the scenario itself (so the entry
    carries the subject's fill TTL), found by the proofs: c0 reads, writes, reads."""
    return export_row("wa-no-invalidate", "read-your-writes",
                      make_scenario({"c0": ["read", "write", "read"]}))


def test_earlier_fill_scenario_is_the_same_refutation(wa_with_fill):
    assert wa_with_fill.data["schedule"] == ["c0"] * 5
    assert wa_with_fill.data["initial"]["cache"] == {}
    assert model_calls(wa_with_fill.trace)[-2:] == [("c0", "db.put"), ("c0", "cache.get")]


@pytest.mark.parametrize("policy, status, clause", [(WA, CONFORMS, None), (CA, VIOLATES, "linearizable-reads")])
def test_earlier_fill_scenario_on_the_embodiment(wa_with_fill, policy, status, clause):
    report = replay_scenario(WA_EMBODIMENT, policy, wa_with_fill.data)
    expected = model_calls(wa_with_fill.trace)
    assert store_calls(report)[: len(expected)] == expected
    assert report.verdict.status == status, report.verdict
    if status == VIOLATES:
        assert report.verdict.violation.clause == clause
    else:
        # the read of v0 after the write of v1 is the staleness the contract allows
        assert any(re.search(r"read 'v0' .* allowed, staleness bound 30 s", r)
                   for r in report.verdict.relaxations), report.verdict.relaxations


@pytest.mark.parametrize("target, policy", [("implementations.memory:write_around", WA),
                                            ("implementations.memory:cache_aside", CA)])
def test_earlier_fill_scenario_on_the_correct_implementations(wa_with_fill, target, policy):
    report = replay_scenario(target, policy, wa_with_fill.data)
    assert report.verdict.status == CONFORMS, report.verdict


# ---- bounded staleness: the STALENESS rows' refutations, replayed -----------------------
# Their scenarios carry a `clock-advance` fault: the replayer moves the clock past the
# subject's staleness bound (its fill TTL), as the models' advance moves past T.


@pytest.fixture(scope="module")
def staleness_exports():
    return {row.protocol: export_row(row.protocol, row.property, row.scenario)
            for row in STALENESS if row.expected == "REFUTED"}


def test_untimed_fill_breaks_bounded_staleness_on_replay(staleness_exports):
    """wa-untimed-fill: the stale entry outlives the advance, and the replay of the proof's
    trace on its embodiment breaks the same clause, call for call."""
    ex = staleness_exports["wa-untimed-fill"]
    assert any(f["fault"] == "clock-advance" for f in ex.data["faults"])
    report = replay_scenario("implementations.protocols:wa_untimed_fill", WA, ex.data)
    expected = model_calls(ex.trace)
    assert store_calls(report)[: len(expected)] == expected
    assert report.verdict.status == VIOLATES, report.verdict
    assert report.verdict.violation.clause == "bounded-staleness"


def test_timed_fill_conforms_on_the_staleness_scenario(staleness_exports):
    """The same store calls with fills that carry the TTL (wa-no-invalidate) meet bounded
    staleness on the same schedule: the clock advance ends what the stale fill left."""
    ex = staleness_exports["wa-untimed-fill"]
    report = replay_scenario("implementations.protocols:wa_no_invalidate", WA, ex.data)
    expected = model_calls(ex.trace)
    assert store_calls(report)[: len(expected)] == expected
    assert report.verdict.status == CONFORMS, report.verdict
