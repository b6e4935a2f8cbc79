"""The Hypothesis rule-based state machine generated from a policy's contract.

Each step draws one action from the policy's vocabulary (write, read, flush, concurrent
batches) and its fault model (the policy's faults, clock advances, crash and recovery),
and applies it to a `Run`, whose monitor is the oracle; Hypothesis shrinks a failure to
the shortest sequence of actions the contract cannot explain.

Why one weighted `step` rule rather than one rule per action: Hypothesis picks rules
uniformly, and operations are what bugs show through, so they need more weight than any
single fault. Swarm testing is kept by hand: each example first draws which faults it may
use at all, so examples with "db-down but never db-up" (and the like) are common.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule

from conformance.run import FAULT_KINDS, Run

__all__ = ["machine_for", "CLOCK_STEPS", "Tracker"]

# Clock advances: below, around and far beyond the TTLs implementations use, so both
# "still within TTL" and "TTL has run out" are reachable in a few steps.
CLOCK_STEPS = (1.0, 5.0, 30.0, 120.0, 600.0, 4000.0)

# Indeterminate (failed) writes per key an example may make: each can take effect at any
# later moment, so explanations multiply with them; beyond this, writes to that key wait
# until nothing is down. This bounds what is generated, not what the contract allows.
MAX_INDETERMINATE = 3

# A step's choices: integers reduced modulo the menu (and the keys, clock steps...) at
# hand. 720 has many divisors, so most menus and choice lists come out uniform and the
# rest nearly; shrinking towards 0 moves towards the first entry (a read, the first key,
# client c0).
_PICK = st.integers(0, 719)

# Weights of the actions an example can draw (faults: 1 each).
_WEIGHTS = {"read": 4, "write": 4, "flush": 2, "advance": 1, "crash": 2, "concurrent": 4}


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
    optional = tuple(k for k in faults if not k.endswith("-up")) + ("advance",) + (
        ("crash",) if "crash" in policy_faults else ())
    n_clients = max(clients, instances)
    client_names = [f"c{i}" for i in range(max(1, instances))]
    # Contention needs shared keys: batch operations mostly use the first key.
    op_st = st.tuples(
        st.integers(0, n_clients - 1).map(lambda i: f"c{i}"),
        st.sampled_from(("write", "write", "read", "flush")),
        st.sampled_from((keys[0], keys[0], keys[-1])),
    )

    menus: dict[tuple[Any, ...], list[str]] = {}

    class PolicyMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            tracker.examples += 1
            self.run = make_run()
            tracker.last = self.run
            self.enabled: frozenset[str] = frozenset()
            self.last_key: str | None = None
            self.failed_write = False

        # One integer, a bit per optional action, rather than st.sets: one choice instead
        # of one per element, and it still shrinks towards "no faults at all".
        @initialize(mask=st.integers(0, 2 ** len(optional) - 1))
        def swarm(self, mask: int) -> None:
            self.enabled = frozenset(k for i, k in enumerate(optional) if mask >> i & 1)

        def _menu(self) -> list[str]:
            f = self.run.env.faults
            has_flush = callable(getattr(self.run.subject, "flush", None))
            # The menu depends on these alone, and a check meets only a few combinations:
            # each is built once.
            situation = (self.enabled, has_flush, f.db_timeout is not None, self.failed_write, f.db_down,
                         f.cache_down)
            menu = menus.get(situation)
            if menu is None:
                menu = menus[situation] = self._build_menu(*situation)
            return menu

        @staticmethod
        def _build_menu(enabled: frozenset[str], has_flush: bool, timeout_armed: bool, failed_write: bool,
                        db_down: bool, cache_down: bool) -> list[str]:
            menu = ["read"] * _WEIGHTS["read"] + ["write"] * _WEIGHTS["write"]
            if has_flush:
                menu += ["flush"] * _WEIGHTS["flush"]
            for k in ("advance", "crash"):
                if k in enabled:
                    menu += [k] * _WEIGHTS[k]
            menu += [k for k in faults if k in enabled]
            if timeout_armed:
                # An armed timeout hits the next DB write, and the bugs its ambiguous
                # outcome shows (a cache left older than the DB) need that write soon:
                # favour one.
                menu += ["write"] * _WEIGHTS["write"] * 2
            if failed_write:
                # A write just failed: what it left behind (a cache older than the DB, a
                # phantom) shows through a read of its key. Favour one.
                menu += ["read"] * _WEIGHTS["read"] * 2
            if db_down:
                menu.append("db-up")
            if cache_down:
                menu.append("cache-up")
            if n_clients > 1:
                menu += ["concurrent"] * _WEIGHTS["concurrent"]
            return menu

        def step(self, pick: int, sub: int, data: st.DataObject | None = None) -> None:
            menu = self._menu()
            action = menu[pick % len(menu)]
            tracker.steps += 1
            try:
                self._act(action, sub, data)
            except AssertionError:
                if tracker.first_failure is None:
                    tracker.first_failure = self.run
                raise

        # Only concurrent batches draw more than a step's two integers; a sequential
        # machine's rule does without st.data() and its cost per step.
        if n_clients > 1:
            step = rule(pick=_PICK, sub=_PICK, data=st.data())(step)
        else:
            step = rule(pick=_PICK, sub=_PICK)(step)

        def _act(self, action: str, sub: int, data: st.DataObject | None) -> None:
            # `sub` picks what the action needs (key, client, seconds, outcome): one integer
            # drawn with the rule, not a draw per choice, because a step's draws through
            # st.data() cost about as much as the rest of a step.
            run = self.run
            if action in ("write", "read"):
                choices = keys
                f = run.env.faults
                if action == "write" and (f.db_down or f.cache_down or f.db_timeout is not None):
                    choices = tuple(k for k in keys if run.indeterminate.get(k, 0) < MAX_INDETERMINATE) or keys
                    if all(run.indeterminate.get(k, 0) >= MAX_INDETERMINATE for k in keys):
                        action = "read"
                key = self._key(choices, sub)
                client = client_names[(sub // 16) % len(client_names)]
                if action == "write":
                    before = run.indeterminate.get(key, 0)
                    run.write(key, run.fresh_value(), client)
                    self.failed_write = run.indeterminate.get(key, 0) > before
                else:
                    run.read(key, client)
                    self.failed_write = False
            elif action == "flush":
                run.flush()
            elif action == "advance":
                run.advance(CLOCK_STEPS[sub % len(CLOCK_STEPS)])
            elif action == "crash":
                run.crash()
            elif action == "evict":
                run.fault("evict", self._key(keys, sub))
            elif action == "db-timeout":
                run.fault("db-timeout", None, sub % 3 != 2)
            elif action == "concurrent":
                assert data is not None
                self._concurrent(data)
            else:
                run.fault(action)

        def _key(self, choices: tuple[str, ...], sub: int) -> str:
            # Mostly the key of the previous operation: a bug shows through a chain of
            # steps on one key (write, fault, write, read, evict, read), and choosing
            # each key afresh would make such a chain 2**4 times rarer with two keys.
            # Shrinking (towards 0) keeps the key.
            last = self.last_key
            if sub % 4 != 3 and last in choices:
                return last
            key = self.last_key = choices[(sub // 4) % len(choices)]
            return key

        def _concurrent(self, data: st.DataObject) -> None:
            ops = data.draw(st.lists(op_st, min_size=2, max_size=2 * n_clients), label="batch")
            wake = data.draw(st.booleans(), label="wake workers")
            readback = data.draw(st.booleans(), label="read back")
            batch = [(c, kind, None if kind == "flush" else key, self.run.fresh_value() if kind == "write" else None)
                     for c, kind, key in ops]
            if schedule == "pct":
                from conformance.scheduler import PCTChooser

                chooser: Any = PCTChooser(data.draw(st.integers(0, 2**32 - 1), label="pct seed"))
            else:
                def chooser(options: Any, last: Any) -> str:
                    # Mostly keep running the last task, and preempt it one time in four:
                    # races that need a long run, a switch, and a long run again (the
                    # stale fill) are far likelier than under a uniform choice per step,
                    # and shrinking (towards 0: "no preemption") removes switches.
                    if last is not None and last.name in options and len(options) > 1:
                        if data.draw(st.integers(0, 3), label="preempt") < 3:
                            return last.name
                        options = [o for o in options if o != last.name]
                    ordered = sorted(options, key=lambda o: o == "!crash")
                    return data.draw(st.sampled_from(ordered), label="schedule")
            self.run.concurrent(batch, chooser=chooser, allow_crash="crash" in self.enabled, wake=wake)
            if readback:
                # Read back what the batch touched: a race that left the cache and the DB
                # apart shows at once. Drawn, because the read also fills the cache, and a
                # stale-fill race needs the next batch to start on a miss.
                for key in sorted({o[2] for o in batch if o[2] is not None}):
                    self.run.read(key)

        def teardown(self) -> None:
            try:
                if not self.run.failed:
                    tracker.steps += 1
                    self.run.finish()
            except AssertionError:
                if tracker.first_failure is None:
                    tracker.first_failure = self.run
                raise
            finally:
                self.run.close()

    PolicyMachine.__name__ = PolicyMachine.__qualname__ = "PolicyMachine"
    return PolicyMachine
