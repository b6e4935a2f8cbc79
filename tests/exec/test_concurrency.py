"""Several clients and application instances over the protocol: requests of concurrent
operations multiplexed by task in one process, and one process per instance."""

from __future__ import annotations

import io

import pytest

from cache_conformance.cli import main

pytestmark = pytest.mark.slow  # processes started, Hypothesis budgets


@pytest.mark.parametrize("language", ("node", "java", "go"))
def test_a_fill_racing_an_invalidation_on_two_instances_conforms(language, subjects):
    # Every interleaving (preemption bound 2) of a read and a write of one key, from two
    # processes sharing the cache and the DB: the lease-guarded fill must never land stale.
    out = io.StringIO()
    code = main(["check", "--exec", subjects.command(language, "write_through"), "--policy", "write-through",
                 "--exhaustive", "c0:read:k0 c1:write:k0", "--instances", "2", "--initial", "k0=v0",
                 "--timeout", "60"],
                stdout=out, stderr=io.StringIO())
    assert code == 0, out.getvalue()


@pytest.mark.parametrize("language", ("node", "java", "go"))
def test_two_clients_and_the_worker_of_one_write_behind_process_conform(language, subjects):
    # Two operations in flight in one process (a Node event loop, Java threads, goroutines)
    # and its worker, in every interleaving: their requests are told apart by task, and
    # each answer reaches its task.
    out = io.StringIO()
    code = main(["check", "--exec", subjects.command(language, "write_behind"), "--policy", "write-behind",
                 "--exhaustive", "c0:write:k0 c1:read:k0 c1:flush", "--timeout", "60"],
                stdout=out, stderr=io.StringIO())
    assert code == 0, out.getvalue()
