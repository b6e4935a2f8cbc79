"""Producing evidence outcomes: measured figures, checks cut to a scenario, and skips that
say why (never a silent pass)."""

from __future__ import annotations

import pytest

from cache_conformance.claims import Benchmark, Check, decide, load_register
from cache_conformance.claims.evidence import measure, run_check_item


def test_coalescing_is_measured_on_the_ports() -> None:
    no_coalescing = measure(Benchmark("db-writes-after-10-writes-of-one-key",
                                      ("implementations.seeds.tradeoffs:write_back",), at_most=1))
    coalescing = measure(Benchmark("db-writes-after-100-writes-of-one-key",
                                   ("implementations.seeds.quick_recap:write_back",), at_most=1))
    assert (no_coalescing.status, no_coalescing.value) == ("MEASURED", 10.0)
    assert (coalescing.status, coalescing.value) == ("MEASURED", 1.0)


def test_the_coalescing_claims_are_decided_from_the_measurement() -> None:
    claims = {c.id: c for c in load_register()}
    claim = claims["002-wb-coalesce"]
    assert decide(claim, [measure(claim.evidence[0].item)]).status == "REFUTED"  # type: ignore[arg-type]


def test_unknown_metrics_and_missing_backends_are_not_passes() -> None:
    assert measure(Benchmark("made-up", ("implementations.seeds.poc62:write_behind",), at_least=1)).status == "UNKNOWN"
    speedup = Benchmark("write-latency-speedup", ("implementations.seeds.poc62:write_through_redis",
                                                  "implementations.seeds.poc62:write_behind_redis"), at_least=1)
    skipped = measure(speedup)
    assert skipped.status == "SKIPPED" and "--backend redis" in skipped.detail
    outcome, report = run_check_item(Check("implementations.seeds.poc62:write_behind_redis", "write-behind", "CONFORMS"))
    assert outcome.status == "SKIPPED" and report is None


def test_a_scenario_without_store_faults_runs() -> None:
    # The machine needs no fault to run: a check limited to operations (and crashes off)
    # is a plain sequential check of the port.
    outcome, _ = run_check_item(Check("implementations.seeds.poc62:write_behind", "write-behind", "CONFORMS",
                                      faults=()))
    assert outcome.status == "CONFORMS", outcome


@pytest.mark.slow
def test_a_violation_of_another_clause_leaves_the_claim_open() -> None:
    about_durability = Check("implementations.seeds.tradeoffs:write_through", "write-through", "CONFORMS",
                             faults=("cache-down",), clauses=("durable-on-ack",))
    outcome, report = run_check_item(about_durability, examples=300)
    assert report is not None and report.verdict.status == "VIOLATES"
    assert outcome.status == "UNKNOWN" and report.clause in outcome.detail
