"""The Hypothesis rule-based state machine generated from a policy's contract.

The rules are the policy's vocabulary (write, read, flush) and its fault model (the
policy's faults, clock advances, crash and recovery). Every rule acts on a `Run`, whose
monitor is the oracle, so Hypothesis shrinks a failure to the shortest sequence of
rules the contract cannot explain.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from conformance.run import FAULT_KINDS, Run

__all__ = ["machine_for", "CLOCK_STEPS", "Tracker"]

# Clock advances: below, around and far beyond the TTLs implementations use, so both
# "still within TTL" and "TTL has run out" are reachable in a few steps.
CLOCK_STEPS = (1.0, 5.0, 30.0, 120.0, 600.0, 4000.0)


class Tracker:
    """What the check learns across examples: how many ran, the steps taken, and the
    last and the first failing run (the last one Hypothesis runs is the shrunk one)."""

    def __init__(self) -> None:
        self.examples = 0
        self.steps = 0
        self.last: Run | None = None
        self.first_failure: Run | None = None


def machine_for(make_run: Callable[[], Run], policy_faults: tuple[str, ...], keys: tuple[str, ...],
                tracker: Tracker, clients: int = 1, instances: int = 1,
                schedule: str = "hypothesis") -> type[RuleBasedStateMachine]:
    """A state machine class whose every instance drives a fresh `make_run()`.

    With `clients` > 1 or `instances` > 1 it also runs concurrent batches, interleaved by
    the scheduler with choices drawn by Hypothesis (`schedule="hypothesis"`, they shrink
    with the example) or by PCT priorities from a drawn seed (`schedule="pct"`)."""
    # A "-down" fault in the policy's model brings its "-up" (healing) with it.
    faults = tuple(k for k in FAULT_KINDS if k in policy_faults or k.replace("-up", "-down") in policy_faults)
    has_crash = "crash" in policy_faults
    keys_st = st.sampled_from(keys)
    n_clients = max(clients, instances)
    client_st = st.sampled_from([f"c{i}" for i in range(max(1, instances))])
    # Contention needs shared keys: batches use at most two of them.
    op_st = st.tuples(
        st.integers(0, n_clients - 1).map(lambda i: f"c{i}"),
        st.sampled_from(("write", "write", "read", "flush")),
        st.sampled_from((keys[0], keys[0], keys[-1])),
    )

    class PolicyMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            tracker.examples += 1
            self.run = make_run()
            tracker.last = self.run

        def _step(self, fn: Callable[[], Any]) -> None:
            tracker.steps += 1
            try:
                fn()
            except AssertionError:
                if tracker.first_failure is None:
                    tracker.first_failure = self.run
                raise

        @rule(key=keys_st, client=client_st)
        def write(self, key: str, client: str) -> None:
            self._step(lambda: self.run.write(key, self.run.fresh_value(), client))

        @rule(key=keys_st, client=client_st)
        def read(self, key: str, client: str) -> None:
            self._step(lambda: self.run.read(key, client))

        if n_clients > 1:
            @rule(ops=st.lists(op_st, min_size=2, max_size=2 * n_clients), data=st.data())
            def concurrent(self, ops: list[tuple[str, str, str]], data: st.DataObject) -> None:
                batch = [(c, kind, None if kind == "flush" else key, self.run.fresh_value() if kind == "write" else None)
                         for c, kind, key in ops]
                if schedule == "pct":
                    from conformance.scheduler import PCTChooser

                    chooser: Any = PCTChooser(data.draw(st.integers(0, 2**32 - 1), label="pct seed"))
                else:
                    def chooser(options: Any, last: Any) -> str:
                        # The last task first: shrinking towards index 0 removes preemptions.
                        ordered = sorted(options, key=lambda o: (last is None or o != last.name, o == "!crash"))
                        return data.draw(st.sampled_from(ordered), label="schedule")
                self._step(lambda: self.run.concurrent(batch, chooser=chooser, allow_crash=has_crash))
                # Read back what the batch touched: a race that left the cache and the DB
                # apart shows at once, not only if a later rule happens to read the key.
                for key in sorted({o[2] for o in batch if o[2] is not None}):
                    self._step(lambda key=key: self.run.read(key))

        @precondition(lambda self: callable(getattr(self.run.subject, "flush", None)))
        @rule()
        def flush(self) -> None:
            self._step(self.run.flush)

        @rule(kind=st.sampled_from(faults), key=keys_st, applied=st.booleans())
        def fault(self, kind: str, key: str, applied: bool) -> None:
            self._step(lambda: self.run.fault(kind, key if kind == "evict" else None,
                                              applied if kind == "db-timeout" else None))

        @rule(seconds=st.sampled_from(CLOCK_STEPS))
        def advance(self, seconds: float) -> None:
            self._step(lambda: self.run.advance(seconds))

        if has_crash:
            @rule()
            def crash(self) -> None:
                self._step(self.run.crash)

        def teardown(self) -> None:
            try:
                if not self.run.failed:
                    self._step(self.run.finish)
            finally:
                self.run.close()

    PolicyMachine.__name__ = PolicyMachine.__qualname__ = "PolicyMachine"
    return PolicyMachine
