"""The conformance suite finds each seed's mistake on its own, and a correct built-in passes
the very same scenario (the same policy, the same faults, the same budget).

Scenarios are single-client: several clients arrive with the concurrent scheduler, and the
register's multi-client items say so when they are skipped.
"""

from __future__ import annotations

import attrs
import pytest

from conformance import run_check
from model.policies import policy as lookup_policy

EXAMPLES = 300

# (seed port, policy, faults, clause the seed's mistake breaks, correct built-in)
CASES = [
    # 000: cache first, then DB: a failed DB write is still served from the cache.
    ("millisecond:write_through", "write-through", ("db-down",), {"no-phantom", "linearizable-reads"},
     "implementations.memory:write_through"),
    # 000: BRPOP, then the DB write: a crash in between loses a write of a durable queue.
    ("millisecond:write_behind", "write-behind", ("db-down", "crash"), {"bounded-loss", "eventual-persistence"},
     "implementations.memory:durable_write_behind"),
    # 001: a DB write that times out after taking effect skips the SETEX: the old entry is
    # served for up to 3600 s while the DB has the new value.
    ("poc62:write_through", "write-through", ("db-timeout",), {"linearizable-reads", "convergence"},
     "implementations.memory:write_through"),
    # 001: a DB outage during the interval's flush loses the cleared snapshot.
    ("poc62:write_behind", "write-behind", ("db-down",), {"eventual-persistence", "linearizable-reads"},
     "implementations.memory:write_behind"),
    # 001: DurableWriteBehind pops before persisting, and its loop dies on a DB error.
    ("poc62:durable_write_behind", "write-behind", ("db-down",), {"eventual-persistence", "bounded-loss"},
     "implementations.memory:durable_write_behind"),
    # 002: a cache set that fails after the DB write leaves the old entry forever (no TTL).
    ("tradeoffs:write_through", "write-through", ("cache-down",), {"convergence", "linearizable-reads"},
     "implementations.memory:write_through"),
    # 002: WriteBackCache has no retry: the DB down during a flush loses writes.
    ("tradeoffs:write_back", "write-behind", ("db-down",), {"eventual-persistence", "bounded-loss", "linearizable-reads"},
     "implementations.memory:write_behind"),
    # 003: cache first: a phantom when the DB write fails.
    ("dual_ledger:cache_first", "write-through", ("db-down",), {"no-phantom", "linearizable-reads"},
     "implementations.memory:write_through"),
    # 003: "Cache write failure is tolerable": the next read gets the old cached value.
    ("dual_ledger:db_first", "write-through", ("cache-down",), {"convergence", "linearizable-reads"},
     "implementations.memory:write_through"),
    # 003, option 2: DB only while the cache is down; the stale entry stays.
    ("dual_ledger:db_fallback", "write-through", ("cache-down",), {"convergence", "linearizable-reads"},
     "implementations.memory:write_through"),
    # 003, option 3: acknowledged before the DB has it.
    ("dual_ledger:retry_queue", "write-through", ("cache-down",), {"durable-on-ack"},
     "implementations.memory:write_through"),
    # 004: "It survives cache failures": a failed delete leaves the old entry forever.
    ("quick_recap:cache_aside", "cache-aside", ("cache-down",), {"convergence", "linearizable-reads"},
     "implementations.memory:cache_aside"),
    # 004: write-through half of read-through, cache first: phantom on a DB failure.
    ("quick_recap:read_through", "read-through", ("db-down",), {"no-phantom", "linearizable-reads"},
     "implementations.memory:read_through"),
    # 004: the value lives only in the cache until the flush: an eviction loses it.
    ("quick_recap:write_back", "write-behind", ("evict",), {"eventual-persistence", "linearizable-reads", "bounded-loss"},
     "implementations.memory:write_behind"),
]


def _policy(name: str, faults: tuple[str, ...]):  # type: ignore[no-untyped-def]
    return attrs.evolve(lookup_policy(name), faults=faults)


@pytest.mark.slow
@pytest.mark.parametrize(("port", "policy", "faults", "clauses"), [c[:4] for c in CASES], ids=[c[0] for c in CASES])
def test_the_suite_finds_the_seeds_mistake(port: str, policy: str, faults: tuple[str, ...], clauses: set[str]) -> None:
    found = run_check(f"implementations.seeds.{port}", _policy(policy, faults), examples=EXAMPLES)
    assert found.verdict.status == "VIOLATES", found.render()
    assert found.clause in clauses, found.render()
    assert found.counterexample  # a runnable, shrunk script


# The correct built-in of every case above, in that case's scenario: several seeds share a
# scenario (four are write-through under cache-down), and the same check (same subject,
# policy, faults, budget and seed) gives the same verdict, so each distinct one runs once.
BASELINES = sorted({(correct, policy, faults) for _, policy, faults, _, correct in CASES})


@pytest.mark.slow
@pytest.mark.parametrize(("correct", "policy", "faults"), BASELINES,
                         ids=[f"{c.split(':')[1]}-{'+'.join(f)}" for c, _, f in BASELINES])
def test_a_correct_builtin_passes_the_seeds_scenario(correct: str, policy: str, faults: tuple[str, ...]) -> None:
    baseline = run_check(correct, _policy(policy, faults), examples=EXAMPLES)
    assert baseline.verdict.status == "CONFORMS", baseline.render()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("port", "policy", "faults"),
    [
        # 001's WriteThroughCache is DB first: one client and a DB that is down (not slow)
        # see nothing wrong.
        ("poc62:write_through", "write-through", ("db-down", "crash", "evict")),
        # 002's WriteAroundCache keeps stale reads within its 300 s fill TTL.
        ("tradeoffs:write_around", "write-around", ("db-down", "cache-restart", "evict", "crash")),
        # 003, option 1: a cache outage fails the write before anything happens.
        ("dual_ledger:fail_fast", "write-through", ("cache-down", "cache-restart")),
    ],
)
def test_what_the_seeds_get_right_single_client(port: str, policy: str, faults: tuple[str, ...]) -> None:
    report = run_check(f"implementations.seeds.{port}", _policy(policy, faults), examples=EXAMPLES)
    assert report.verdict.status == "CONFORMS", report.render()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("port", "policy", "correct"),
    [
        # 001: "guaranteed fresh due to write-through": two clients, DB then SETEX, no order.
        ("poc62:write_through", "write-through", "implementations.memory:write_through"),
        # 002: "Invalidate cache to prevent stale reads": the stale fill, checked as the
        # cache-aside the seed says it is.
        ("tradeoffs:write_around", "cache-aside", "implementations.memory:cache_aside"),
    ],
)
def test_two_clients_break_what_one_client_cannot(port: str, policy: str, correct: str) -> None:
    scenario = _policy(policy, ("evict",))
    found = run_check(f"implementations.seeds.{port}", scenario, examples=EXAMPLES, clients=2)
    assert found.verdict.status == "VIOLATES", found.render()
    assert found.clause == "linearizable-reads", found.render()
    single = run_check(f"implementations.seeds.{port}", scenario, examples=EXAMPLES)
    assert single.verdict.status == "CONFORMS", single.render()
    baseline = run_check(correct, scenario, examples=EXAMPLES, clients=2)
    assert baseline.verdict.status == "CONFORMS", baseline.render()
