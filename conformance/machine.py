"""The Hypothesis rule-based state machine generated from a policy's contract.

Each step draws one action from the policy's vocabulary (write, read, flush, concurrent
batches) and its fault model (the policy's faults, clock advances, crash and recovery),
and applies it to a `Run`, whose monitor is the oracle; Hypothesis shrinks a failure to
the shortest sequence of actions the contract cannot explain.

How to read it:

* `MENU` is the weighting, in one table: which actions a step may draw, how often, when,
  and why. Hypothesis has no rule weights (it picks among rules uniformly), which is why
  the machine has one rule, `step`, that draws an index into a menu where each action
  appears as many times as its weight. One rule per action would give a single fault as
  much weight as all writes, while operations are what bugs show through.
* Swarm testing is kept by hand: each example first draws which optional actions (faults,
  clock advances, crashes) it may use at all, so examples with "db-down but never db-up"
  (and the like) are common.
* A subject with the optional `delete` also draws deletes (`MENU`'s last entry); one
  without it draws exactly as it did before deletes existed. Concurrent batches do not
  draw deletes yet (their draws would change every seed of a concurrent check).
* Each action is a named function below (`write_or_read` (and delete), `flush`, `advance`, `crash`,
  `evict`, `db_timeout`, `other_fault`, `concurrent`), listed in `ACTIONS`.

Determinism: a `--seed` is a sequence of draws, so what the machine draws, and in which
order, is part of every seed's meaning: the menu's order, the integers `pick` and `sub`
and the draws of a concurrent batch must stay as they are for a seed to find the same
bugs (the README's figures are measured per seed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from attrs import frozen
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule

from model.vocabulary import CRASH, DELETE, FLUSH, READ, STORE_FAULTS, WRITE

from conformance.run import Run
from conformance.strategies import Chooser, DrawnChooser, PCTChooser

__all__ = ["machine_for", "CLOCK_STEPS", "MAX_INDETERMINATE", "MENU", "ACTIONS", "Tracker", "Situation"]

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

ADVANCE = "advance"
CONCURRENT = "concurrent"
FAULT = "fault"  # in MENU: each fault the example enabled, once, in STORE_FAULTS order


class Tracker:
    """What the check learns across examples: how many ran, the steps taken, and the
    last and the first failing run (the last one Hypothesis runs is the shrunk one)."""

    def __init__(self) -> None:
        self.examples = 0
        self.steps = 0
        self.last: Run | None = None
        self.first_failure: Run | None = None


@frozen
class Situation:
    """All a menu depends on; a check meets only a few, so each menu is built once."""

    enabled: frozenset[str]   # the optional actions this example drew (swarm testing)
    has_flush: bool           # the subject has flush()
    timeout_armed: bool       # a db-timeout waits for the next DB write
    failed_write: bool        # the previous step was a write that failed
    db_down: bool
    cache_down: bool
    concurrent: bool          # the check has several clients or instances
    has_delete: bool = False  # the subject has delete() (the subject contract's optional one)

    def holds(self, when: str, action: str) -> bool:
        return when == "always" or (action in self.enabled if when == "enabled" else getattr(self, when))


@frozen
class Weight:
    """`copies` entries of `action` in the menu when `when` holds of the situation."""

    action: str
    copies: int
    when: str   # "always", "enabled" (the example drew it), or a Situation flag
    why: str


# The menu, in order (the order is part of what a seed draws).
MENU: tuple[Weight, ...] = (
    Weight(READ, 4, "always", "operations are what bugs show through: a read shows what the cache and the DB hold"),
    Weight(WRITE, 4, "always", "as often as reads: each write is a new value for a read to get wrong"),
    Weight(FLUSH, 2, "has_flush", "half as often: a flush between every two writes would leave nothing pending"),
    Weight(ADVANCE, 1, "enabled", "like a fault: TTLs running out and workers waking up"),
    Weight(CRASH, 2, "enabled", "twice a fault: a crash mid-buffer is where write-behind loses writes"),
    Weight(FAULT, 1, "enabled", "each fault the example enabled, once"),
    Weight(WRITE, 8, "timeout_armed", "an armed timeout hits the next DB write, and the bugs its ambiguous "
                                      "outcome shows (a cache left older than the DB) need that write soon"),
    Weight(READ, 8, "failed_write", "a write just failed: what it left behind (a cache older than the DB, a "
                                    "phantom) shows through a read of its key"),
    Weight("db-up", 1, "db_down", "healing is always possible while the DB is down, whether or not it was drawn"),
    Weight("cache-up", 1, "cache_down", "likewise for the cache"),
    Weight(CONCURRENT, 4, "concurrent", "as often as reads and writes: races show only inside batches"),
    # Last, and only for a subject with delete(): every menu of a subject without one is
    # what it was before deletes existed, so its seeds draw the same examples.
    Weight(DELETE, 2, "has_delete", "half as often as writes: a delete between writes and reads of its key "
                                     "is where a resurrected or half-done delete shows"),
)


def build_menu(situation: Situation, faults: tuple[str, ...]) -> list[str]:
    """The menu `MENU` gives in `situation`; `faults` are the policy's, in STORE_FAULTS order."""
    menu: list[str] = []
    for w in MENU:
        if w.action == FAULT:
            menu += [k for k in faults if k in situation.enabled]
        elif situation.holds(w.when, w.action):
            menu += [w.action] * w.copies
    return menu


@frozen
class Spec:
    """What every step of one check's machine needs to know."""

    keys: tuple[str, ...]
    clients: tuple[str, ...]   # the clients of sequential operations: one per instance
    n_clients: int             # clients of a concurrent batch
    faults: tuple[str, ...]    # the policy's store faults, healing ones included
    schedule: str              # "hypothesis" or "pct"
    batch_op: Any              # strategy of one operation of a batch


# ---- the steps --------------------------------------------------------------------------
# Each takes the machine, its action, `sub` (one integer that picks what the action needs:
# key, client, seconds, outcome; one integer drawn with the rule rather than a draw per
# choice, because a step's draws through st.data() cost about as much as the rest of a
# step) and the example's data (concurrent batches only).


def write_or_read(m: "_Machine", action: str, sub: int, data: st.DataObject | None) -> None:
    run, keys = m.run, m.spec.keys
    choices = keys
    f = run.env.faults
    if action in (WRITE, DELETE) and (f.db_down or f.cache_down or f.db_timeout is not None):
        # Keep the indeterminate writes per key few (MAX_INDETERMINATE); when every key has
        # its share, read instead.
        choices = tuple(k for k in keys if run.indeterminate.get(k, 0) < MAX_INDETERMINATE) or keys
        if all(run.indeterminate.get(k, 0) >= MAX_INDETERMINATE for k in keys):
            action = READ
    key = m.key(choices, sub)
    client = m.spec.clients[(sub // 16) % len(m.spec.clients)]
    if action in (WRITE, DELETE):
        before = run.indeterminate.get(key, 0)
        if action == WRITE:
            run.write(key, run.fresh_value(), client)
        else:
            run.delete(key, client)
        m.failed_write = run.indeterminate.get(key, 0) > before
    else:
        run.read(key, client)
        m.failed_write = False


def flush(m: "_Machine", action: str, sub: int, data: st.DataObject | None) -> None:
    m.run.flush()


def advance(m: "_Machine", action: str, sub: int, data: st.DataObject | None) -> None:
    m.run.advance(CLOCK_STEPS[sub % len(CLOCK_STEPS)])


def crash(m: "_Machine", action: str, sub: int, data: st.DataObject | None) -> None:
    m.run.crash()


def evict(m: "_Machine", action: str, sub: int, data: st.DataObject | None) -> None:
    m.run.fault("evict", m.key(m.spec.keys, sub))


def db_timeout(m: "_Machine", action: str, sub: int, data: st.DataObject | None) -> None:
    # Two times in three the write it hits takes effect before timing out: the outcome the
    # caller cannot tell from a failure, which is where the bugs are.
    m.run.fault("db-timeout", None, sub % 3 != 2)


def other_fault(m: "_Machine", action: str, sub: int, data: st.DataObject | None) -> None:
    m.run.fault(action)


def concurrent(m: "_Machine", action: str, sub: int, data: st.DataObject | None) -> None:
    assert data is not None
    spec, run = m.spec, m.run
    # The draws, in this order: the batch, whether workers wake first, whether to read
    # back, then the schedule's own (a PCT seed, or one choice per step).
    ops = data.draw(st.lists(spec.batch_op, min_size=2, max_size=2 * spec.n_clients), label="batch")
    wake = data.draw(st.booleans(), label="wake workers")
    readback = data.draw(st.booleans(), label="read back")
    batch = [(c, kind, None if kind == FLUSH else key, run.fresh_value() if kind == WRITE else None)
             for c, kind, key in ops]
    chooser: Chooser
    if spec.schedule == "pct":
        chooser = PCTChooser(data.draw(st.integers(0, 2**32 - 1), label="pct seed"))
    else:
        chooser = DrawnChooser(data)
    run.concurrent(batch, chooser=chooser, allow_crash=CRASH in m.enabled, wake=wake)
    if readback:
        # Read back what the batch touched: a race that left the cache and the DB apart
        # shows at once. Drawn, because the read also fills the cache, and a stale-fill
        # race needs the next batch to start on a miss.
        for key in sorted({o[2] for o in batch if o[2] is not None}):
            run.read(key)


Step = Callable[["_Machine", str, int, "st.DataObject | None"], None]

#: The function of each action (any other action is a fault injected as it is named).
ACTIONS: dict[str, Step] = {
    READ: write_or_read, WRITE: write_or_read, DELETE: write_or_read, FLUSH: flush, ADVANCE: advance, CRASH: crash,
    "evict": evict, "db-timeout": db_timeout, CONCURRENT: concurrent,
}


class _Machine(RuleBasedStateMachine):
    """The machine's state and rules; `machine_for` makes a subclass per check."""

    spec: Spec
    tracker: Tracker
    make_run: Callable[[], Run]
    menus: dict[Situation, list[str]]

    def __init__(self) -> None:
        super().__init__()
        self.tracker.examples += 1
        self.run = self.make_run()
        self.tracker.last = self.run
        self.enabled: frozenset[str] = frozenset()
        self.last_key: str | None = None
        self.failed_write = False

    def menu(self) -> list[str]:
        f = self.run.env.faults
        situation = Situation(self.enabled, callable(getattr(self.run.subject, "flush", None)),
                              f.db_timeout is not None, self.failed_write, f.db_down, f.cache_down,
                              self.spec.n_clients > 1, callable(getattr(self.run.subject, "delete", None)))
        menu = self.menus.get(situation)
        if menu is None:
            menu = self.menus[situation] = build_menu(situation, self.spec.faults)
        return menu

    def key(self, choices: tuple[str, ...], sub: int) -> str:
        # Mostly the key of the previous operation: a bug shows through a chain of steps on
        # one key (write, fault, write, read, evict, read), and choosing each key afresh
        # would make such a chain 2**4 times rarer with two keys. Shrinking (towards 0)
        # keeps the key.
        last = self.last_key
        if sub % 4 != 3 and last in choices:
            return last  # type: ignore[return-value]
        key = self.last_key = choices[(sub // 4) % len(choices)]
        return key

    def take_step(self, pick: int, sub: int, data: st.DataObject | None = None) -> None:
        menu = self.menu()
        action = menu[pick % len(menu)]
        self.tracker.steps += 1
        try:
            ACTIONS.get(action, other_fault)(self, action, sub, data)
        except AssertionError:
            if self.tracker.first_failure is None:
                self.tracker.first_failure = self.run
            raise

    def teardown(self) -> None:
        try:
            if not self.run.failed:
                self.tracker.steps += 1
                self.run.finish()
        except AssertionError:
            if self.tracker.first_failure is None:
                self.tracker.first_failure = self.run
            raise
        finally:
            self.run.close()


def machine_for(make_run: Callable[[], Run], policy_faults: tuple[str, ...], keys: tuple[str, ...],
                tracker: Tracker, clients: int = 1, instances: int = 1,
                schedule: str = "hypothesis", advance: bool = True) -> type[RuleBasedStateMachine]:
    """A state machine class whose every instance drives a fresh `make_run()`.

    With `clients` > 1 or `instances` > 1 it also runs concurrent batches, interleaved by
    the scheduler with choices drawn by Hypothesis (`schedule="hypothesis"`, they shrink
    with the example) or by PCT priorities from a drawn seed (`schedule="pct"`)."""
    # A "-down" fault in the policy's model brings its "-up" (healing) with it.
    faults = tuple(k for k in STORE_FAULTS if k in policy_faults or k.replace("-up", "-down") in policy_faults)
    # Clock advances are drawn whatever the policy's fault list says (a policy narrowed with
    # attrs.evolve, as the seeds' tests and claims do, keeps drawing them: its seeds must
    # draw what they always drew); only a check told to leave the clock out
    # (`run_check(faults=...)` without `clock`: `advance=False`) has none.
    optional = tuple(k for k in faults if not k.endswith("-up")) + (
        (ADVANCE,) if advance else ()) + ((CRASH,) if CRASH in policy_faults else ())
    n_clients = max(clients, instances)
    spec = Spec(
        keys=keys,
        clients=tuple(f"c{i}" for i in range(max(1, instances))),
        n_clients=n_clients,
        faults=faults,
        schedule=schedule,
        # Contention needs shared keys: batch operations mostly use the first key, and
        # mostly write.
        batch_op=st.tuples(
            st.integers(0, n_clients - 1).map(lambda i: f"c{i}"),
            st.sampled_from((WRITE, WRITE, READ, FLUSH)),
            st.sampled_from((keys[0], keys[0], keys[-1])),
        ),
    )

    class PolicyMachine(_Machine):
        # One integer, a bit per optional action, rather than st.sets: one choice instead
        # of one per element, and it still shrinks towards "no faults at all".
        @initialize(mask=st.integers(0, 2 ** len(optional) - 1))
        def swarm(self, mask: int) -> None:
            self.enabled = frozenset(k for i, k in enumerate(optional) if mask >> i & 1)

        # Only concurrent batches draw more than a step's two integers; a sequential
        # machine's rule does without st.data() and its cost per step.
        if n_clients > 1:
            @rule(pick=_PICK, sub=_PICK, data=st.data())
            def step(self, pick: int, sub: int, data: st.DataObject) -> None:
                self.take_step(pick, sub, data)
        else:
            @rule(pick=_PICK, sub=_PICK)
            def step(self, pick: int, sub: int) -> None:  # type: ignore[misc]
                self.take_step(pick, sub)

    PolicyMachine.spec = spec
    PolicyMachine.tracker = tracker
    PolicyMachine.make_run = staticmethod(make_run)  # type: ignore[assignment]
    PolicyMachine.menus = {}
    PolicyMachine.__name__ = PolicyMachine.__qualname__ = "PolicyMachine"
    return PolicyMachine
