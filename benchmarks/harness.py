"""Benchmarks of the conformance harness, measured in one run so the ratios hold on a
shared, noisy machine:

* sequential steps/s of `check` on every built-in against a bare Hypothesis rule-based
  machine over a dict (the floor: Hypothesis alone, no subject, no oracle), measured just
  before and just after each check, in three rounds (a built-in's figure: the median);
* steps/s with 2 and 4 concurrent clients against the sequential figure;
* seconds to catch each mutant with the default settings, median over 5 seeds.

Run:  python benchmarks/harness.py [--quick]   (--quick: one round, 2 seeds per mutant)
"""

from __future__ import annotations

import statistics
import sys
import time

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test

from conformance import run_check
from conformance.check import DEFAULT_EXAMPLES, DEFAULT_STEPS
from implementations import builtins

BUILTINS = tuple(target.rpartition(":")[2] for target, _ in builtins.MEMORY)
POLICY = {"write_through": "write-through", "write_behind": "write-behind", "durable_write_behind": "write-behind",
          "write_around": "write-around", "cache_aside": "cache-aside", "read_through": "read-through"}


def bare_steps_per_second(examples: int = DEFAULT_EXAMPLES, steps: int = DEFAULT_STEPS) -> float:
    """A rule-based machine over a dict with the same budget: what Hypothesis costs alone."""
    return bare_rates(examples, steps)[0]


def bare_rates(examples: int = DEFAULT_EXAMPLES, steps: int = DEFAULT_STEPS) -> tuple[float, float]:
    """(steps per wall second, steps per CPU second) of the bare machine."""
    count = 0

    class Bare(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.d: dict[str, str] = {}
            self.n = 0

        @rule(key=st.sampled_from(("k0", "k1")))
        def write(self, key: str) -> None:
            nonlocal count
            count += 1
            self.n += 1
            self.d[key] = f"v{self.n}"

        @rule(key=st.sampled_from(("k0", "k1")))
        def read(self, key: str) -> None:
            nonlocal count
            count += 1
            assert self.d.get(key) is None or self.d[key].startswith("v")

    t, c = time.perf_counter(), time.process_time()
    run_state_machine_as_test(Bare, settings=settings(max_examples=examples, stateful_step_count=steps,
                                                      deadline=None, database=None,
                                                      suppress_health_check=list(HealthCheck)))
    return count / (time.perf_counter() - t), count / (time.process_time() - c)


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    seeds = range(2 if quick else 5)
    rounds = 1 if quick else 3
    print("== sequential throughput (default budget) ==")
    print("Each check runs between two floor runs; its ratio is against their mean, so load")
    print("that comes and goes on a shared machine hits both sides of a ratio alike.")
    print(f"{rounds} rounds over the built-ins (the same check each round: a fixed seed); a")
    print("built-in's figure is the median of its rounds, so one slow spell moves no verdict.")
    print("CPU: the same steps per second of CPU time used by the process (all its threads),")
    print("which time stolen by other processes does not dilute.")
    per_name: dict[str, list[tuple[float, float, float]]] = {name: [] for name in BUILTINS}
    for round_ in range(1, rounds + 1):
        for name in BUILTINS:
            before, before_cpu = bare_rates()
            cpu = time.process_time()
            r = run_check(f"implementations.memory:{name}", POLICY[name])
            cpu = time.process_time() - cpu
            after, after_cpu = bare_rates()
            floor, floor_cpu = (before + after) / 2, (before_cpu + after_cpu) / 2
            rate, rate_cpu = r.steps / r.seconds, r.steps / cpu
            per_name[name].append((rate, rate / floor, rate_cpu / floor_cpu))
            print(f"round {round_} check {name:22} {r.verdict.status:9} {r.steps:6} steps {r.seconds:6.2f} s "
                  f"{rate:8,.0f} steps/s  floor {before:6,.0f}/{after:6,.0f}  = {rate / floor:.2f}x bare  "
                  f"(CPU {rate_cpu / floor_cpu:.2f}x)")
    seq_rates, ratios, cpu_ratios = [], [], []
    for name, runs in per_name.items():
        seq_rates.append(statistics.median(rate for rate, _, _ in runs))
        ratios.append(statistics.median(ratio for _, ratio, _ in runs))
        cpu_ratios.append(statistics.median(cpu for _, _, cpu in runs))
        each = ", ".join(f"{ratio:.2f}x" for _, ratio, _ in runs)
        print(f"  {name:22} median {ratios[-1]:.2f}x bare (rounds: {each}; CPU median {cpu_ratios[-1]:.2f}x)")
    print(f"sequential ratio to bare (per built-in medians): median {statistics.median(ratios):.2f}x, "
          f"lowest {min(ratios):.2f}x; CPU median {statistics.median(cpu_ratios):.2f}x, "
          f"lowest {min(cpu_ratios):.2f}x (target 0.5x)")
    seq = statistics.median(seq_rates)
    print("== concurrent throughput (scheduler overhead) ==")
    for clients in (2, 4):
        rates = []
        for name in ("write_through", "cache_aside", "read_through"):
            r = run_check(f"implementations.memory:{name}", POLICY[name], clients=clients)
            rates.append(r.steps / r.seconds)
            print(f"check {name:22} clients={clients} {r.verdict.status:9} {r.steps / r.seconds:8,.0f} steps/s")
        print(f"  median with {clients} clients: {statistics.median(rates) / seq:.2f}x the sequential median "
              f"({seq:,.0f} steps/s)")
    print("== mutants: seconds to VIOLATES with default settings, median over seeds ==")
    from implementations.mutants import MUTANTS

    worst = 0.0
    for m in MUTANTS:
        opts = {} if m.sequential else {"clients": 2}
        times, caught = [], 0
        for seed in seeds:
            r = run_check(m.factory, m.policy, seed=seed, **opts)
            caught += r.verdict.status == "VIOLATES"
            times.append(r.seconds)
        med = statistics.median(times)
        worst = max(worst, med)
        print(f"{m.id:36} {'clients=2' if opts else 'sequential':10} caught {caught}/{len(times)} "
              f"median {med:5.1f} s (max {max(times):5.1f} s)")
    print(f"slowest median: {worst:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
