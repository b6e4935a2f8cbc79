"""Producing the outcome of a claim's check and benchmark items (proof rows come from
proofs/, which the report runs).

    outcome, report = run_check_item(claim.evidence[0].item)
    value = measure(benchmark_item)          # -> Outcome("MEASURED", value)

A check item runs `conformance.run_check` on the seed port, with the policy's fault set cut
down to the item's faults (an empty list: no store fault, clock advances only). Scenarios
the harness cannot run here are SKIPPED with the reason (a Redis port without
`--backend redis`), never passed.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from cache_conformance.claims.register import Benchmark, Check
from cache_conformance.claims.verdict import Outcome
from conformance.check import CheckReport, run_check
from conformance.run import Run
from conformance.target import load_factory
from model.policies import policy as lookup_policy

__all__ = ["BURST_METRIC", "POC_WRITES", "REDIS_ONLY", "SPEEDUP_METRIC", "measure", "needs_redis", "outcome_of", "run_check_item"]

SPEEDUP_METRIC = "write-latency-speedup"
BURST_METRIC = "db-writes-after-{n}-writes-of-one-key"
REDIS_ONLY = "needs --backend redis"  # the report recognises these skips by this text
POC_WRITES = 20  # 001's benchmark(): NUM_WRITES = 20


def needs_redis(factory: str) -> bool:
    """A port that talks to Redis itself (`*_redis`) or a Redis implementation."""
    return factory.endswith("_redis") or factory.startswith("implementations.redis")


def outcome_of(item: Check, status: str, clause: str | None, reason: str = "") -> Outcome:
    """The outcome of a check item, given what its check produced.

    A check stops at its first violation: one of a clause the claim is not about leaves the
    claim's clauses undecided (UNKNOWN), neither for nor against it.
    """
    if status == "VIOLATES" and item.clauses is not None and clause not in item.clauses:
        return Outcome("UNKNOWN", detail=f"stopped at another clause first: {clause}")
    return Outcome(status, detail=clause or reason or "")


def run_check_item(
    item: Check, *, examples: int = 200, seed: int | None = 0, backend: Any = None
) -> tuple[Outcome, CheckReport | None]:
    """Run one check item; the report is None when the item was skipped."""
    if needs_redis(item.factory) and backend is None:
        return Outcome("SKIPPED", detail=f"a Redis port: {REDIS_ONLY}"), None
    policy = lookup_policy(item.policy)
    if item.faults is not None:
        # An empty fault set is a run with clock advances only: the machine draws its
        # optional actions from the faults plus "advance", so it is never empty.
        policy = attrs.evolve(policy, faults=tuple(item.faults))
    options: dict[str, Any] = {"examples": examples, "seed": seed, "backend": backend}
    accepted = inspect.signature(run_check).parameters
    for name in ("clients", "instances"):
        wanted = getattr(item, name)
        if wanted == 1:
            continue
        if name not in accepted:
            return Outcome("SKIPPED", detail=f"{name}={wanted}: this harness runs {name}=1 only"), None
        options[name] = wanted
    report = run_check(item.factory, policy, **options)
    return outcome_of(item, report.verdict.status, report.clause, report.verdict.reason or ""), report


class _CountingDB:
    """env.db, counting the rows the subject writes (a batch counts each of its rows)."""

    def __init__(self, db: Any, counter: list[int]) -> None:
        self._db = db
        self._counter = counter

    def put(self, key: str, value: str, version: int | None = None) -> None:
        self._db.put(key, value, version)
        self._counter[0] += 1

    def put_many(self, items: Any) -> None:
        # Listed once, so that a generator is counted and still reaches env.db whole; a
        # mapping, a string or a non-iterable goes as given, for env.db to accept (a
        # mapping: listing it would pass its keys alone) or to refuse in its own words.
        listable = isinstance(items, Iterable) and not isinstance(items, (str, bytes, Mapping))
        batch = list(items) if listable else items
        self._db.put_many(batch)
        self._counter[0] += len(batch)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


class _CountingEnv:
    def __init__(self, env: Any, counter: list[int]) -> None:
        self._env = env
        self.db = _CountingDB(env.db, counter)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._env, name)


def _db_writes_after_burst(factory: str, writes: int, backend: Any) -> float:
    """Write one key `writes` times, let the subject persist (flush, or its workers with
    the clock moved well past every seed interval), and count the DB rows written."""
    build, _ = load_factory(factory)
    counter = [0]
    run = Run(lambda env: build(_CountingEnv(env, counter)), "write-behind", backend=backend)
    try:
        for _ in range(writes):
            run.write("k0", run.fresh_value())
        run.advance(60.0)
        run.finish()
    finally:
        run.close()
    return float(counter[0])


def _write_latency_speedup(subjects: tuple[str, ...], backend: Any) -> float:
    """Mean wall time of a write of subjects[0] over that of subjects[1], POC_WRITES
    writes each on distinct keys, as 001's benchmark() does."""
    means = []
    for factory in subjects:
        run = Run(factory, "write-behind", backend=backend, keys=tuple(f"user-{i}" for i in range(POC_WRITES)))
        try:
            started = time.perf_counter()
            for i in range(POC_WRITES):
                run.write(f"user-{i}", run.fresh_value())
            means.append((time.perf_counter() - started) / POC_WRITES)
        finally:
            run.close()
    return means[0] / means[1]


def measure(item: Benchmark, *, backend: Any = None) -> Outcome:
    """The figure of one benchmark item, or SKIPPED with the reason."""
    if any(needs_redis(s) for s in item.subjects) and backend is None:
        return Outcome("SKIPPED", detail=f"measured on real Redis: {REDIS_ONLY}")
    if item.metric == SPEEDUP_METRIC:
        return Outcome("MEASURED", _write_latency_speedup(item.subjects, backend))
    prefix, _, rest = item.metric.partition("db-writes-after-")
    count = rest.removesuffix("-writes-of-one-key")
    if not prefix and count.isdigit():
        return Outcome("MEASURED", _db_writes_after_burst(item.subjects[0], int(count), backend))
    return Outcome("UNKNOWN", detail=f"no measurement is defined for metric {item.metric!r}")
