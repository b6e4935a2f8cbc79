"""What the report runs: every built-in, mutant and seed port, every claim's evidence.

`plan(backend)` lists the rows and the (deduplicated) checks behind them. A check that two
rows need (a seed port's own row and a claim's evidence item with the same scenario) is
one Job and runs once.

The budget: on the in-memory backend the whole report must finish in 3 minutes on a
2-core machine, so the examples per check are chosen from measurements
(`DEFAULT_EXAMPLES`); a different budget given with `--examples` is stated in the report.
"""

from __future__ import annotations

import attrs

from cache_conformance.claims import Benchmark, Check, Claim, Proof
from cache_conformance.claims.evidence import needs_redis
from cache_conformance.report.model import BUILTIN, MUTANT, SEED, Job
from implementations import builtins

__all__ = [
    "BUILTINS",
    "DEFAULT_EXAMPLES",
    "GATE_EXAMPLES",
    "REDIS_BUILTINS",
    "Plan",
    "RowSpec",
    "claim_jobs",
    "job_of",
    "plan",
]

# Measured on this 2-core machine (shared with other sessions): ~90 distinct checks, two at
# a time. The gate (built-ins must conform, mutants must be caught) uses the default budget
# of `check`'s mutant tests: at 60 and at 100 examples mutants escaped (durable_ack_before_
# commit, the two-client cache-aside races), at 150 one still escaped on some seeds. The
# seed ports and the claims' checks get 200 too: their commonest mistake (a DB write that
# timed out after it took effect, then a read of the old cached value) is found on 13 to
# 16 seeds in 20 at 30 examples, and seed 0 of poc62's write-through needs more than 100.
# Most of these checks fail early, so the whole report takes ~55 s (~45 s at 30 examples).
GATE_EXAMPLES = 200
DEFAULT_EXAMPLES = 200

# (factory, policy) of the correct in-memory implementations.
# The built-ins and their policies: one table, in implementations.builtins.
BUILTINS: tuple[tuple[str, str], ...] = builtins.MEMORY
REDIS_BUILTINS: tuple[tuple[str, str], ...] = builtins.REDIS

# The concurrency scenarios every built-in is checked in. Several clients share one
# instance; the memory write-behind keeps its buffer per instance by design (docs/
# IMPLEMENTATIONS.md), so multi-instance runs are not part of its contract and not run.
SCENARIOS = (1, 2)


@attrs.frozen(slots=True)
class RowSpec:
    """A row of the checks tables before it has run."""

    group: str
    name: str
    job: Job
    expected: str | None = None
    clauses: tuple[str, ...] = ()
    note: str = ""


@attrs.frozen(slots=True)
class Plan:
    """The rows, the claims, and the distinct jobs they need (in a good order to run)."""

    rows: tuple[RowSpec, ...]
    claims: tuple[Claim, ...]
    jobs: tuple[Job, ...]
    proofs: tuple[tuple[str, str], ...]
    benchmarks: tuple[Benchmark, ...]


def job_of(item: Check, backend: str) -> Job:
    """The Job a claim's check item needs (Redis ports run on the Redis backend)."""
    return Job(item.factory, item.policy, item.clients, item.instances, item.faults,
               "redis" if needs_redis(item.factory) else "memory")


def claim_jobs(the_plan: Plan, backend: str) -> set[Job]:
    """The jobs the claims' evidence names (a report of the claims only: `--claims`)."""
    return {job_of(e.item, backend) for claim in the_plan.claims for e in claim.evidence if isinstance(e.item, Check)}


def _short(factory: str) -> str:
    return factory.removeprefix("implementations.")


def plan(backend: str, claims: tuple[Claim, ...], gate_examples: int = 0) -> Plan:
    """The report's rows for `backend` ("memory" or "redis": redis adds the Redis rows).

    `gate_examples` is the budget of the built-in and mutant checks (0: the run's default,
    like every other check).

    Redis rows are listed on the memory backend too, so the report shows them as SKIPPED
    with the reason rather than leaving them out silently.
    """
    from implementations.mutants.catalog import MUTANTS
    from implementations.seeds.catalog import SYSTEMS

    rows: list[RowSpec] = []
    builtins = BUILTINS + (REDIS_BUILTINS if backend == "redis" else ())
    for factory, policy in builtins:
        kind = "redis" if needs_redis(factory) else "memory"
        for clients in SCENARIOS:
            job = Job(factory, policy, clients, backend=kind, examples=gate_examples)
            rows.append(RowSpec(BUILTIN, _short(factory), job, "CONFORMS"))
    for m in MUTANTS:
        # Race mutants are correct one call at a time: they need two clients to be caught.
        job = Job(m.factory, m.policy, 1 if m.sequential else 2, examples=gate_examples)
        rows.append(RowSpec(MUTANT, m.id, job, "VIOLATES", m.clauses, m.bug))
    for s in SYSTEMS:
        rows.append(RowSpec(SEED, _short(s.factory), Job(s.factory, s.policy, backend=s.backend),
                            note=f"{s.seed_file}: {s.section}"))
    jobs: dict[Job, None] = {r.job: None for r in rows}
    proofs: dict[tuple[str, str], None] = {}
    benchmarks: dict[Benchmark, None] = {}
    for claim in claims:
        for e in claim.evidence:
            if isinstance(e.item, Check):
                jobs[job_of(e.item, backend)] = None
            elif isinstance(e.item, Proof):
                proofs[(e.item.protocol, e.item.property)] = None
            else:
                benchmarks[e.item] = None
    # The gate (built-ins, mutants) first: it decides the exit code. Then the rest, sequential
    # before concurrent: two-client checks can take long (the contract explores many
    # linearizations while Hypothesis shrinks), so a budget that runs out leaves the fewest
    # rows UNKNOWN.
    ordered = sorted(jobs, key=lambda j: (j.examples == 0, j.clients * j.instances))
    return Plan(tuple(rows), claims, tuple(ordered), tuple(proofs), tuple(benchmarks))
