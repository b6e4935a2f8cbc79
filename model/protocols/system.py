"""Guarded-command transition systems: the form every protocol step model takes.

A system is a finite set of integer variables with bounded domains, one initial
valuation, and a list of actions. An action is a guard and a set of simultaneous
assignments; it is enabled in a state when its guard holds. Each client action is
exactly one store call of the algorithm (the in-process code around that call runs
atomically with it, which is how a harness that interleaves at store calls sees the
algorithm); environment actions are faults.

The scenario a system was built for (which clients run which operations, how many
faults of each kind may happen) travels with it so that a counterexample can be exported
as a replayable scenario.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from model.protocols.expr import Expr

__all__ = [
    "ABSENT",
    "INITIAL",
    "Action",
    "Client",
    "Faults",
    "Op",
    "Scenario",
    "TransitionSystem",
    "Variable",
]

#: Value code of "no value" (absent cache entry or DB row).
ABSENT = 0
#: Value code of the value both stores hold before the scenario starts ("v0").
INITIAL = 1


@attrs.frozen(slots=True)
class Variable:
    """A state variable ranging over ``lo..hi`` inclusive.

    ``volatile`` variables live in the application's memory: a crash resets them to their
    initial value. Stores (cache, DB, durable queue) are not volatile.
    """

    name: str
    lo: int
    hi: int
    volatile: bool = False


@attrs.frozen(slots=True)
class Action:
    """One atomic step: a store call of a client, or a fault of the environment."""

    name: str
    actor: str  # client name ("c0") or "env"
    guard: Expr
    effects: tuple[tuple[str, Expr], ...]
    call: str | None = None  # store call ("db.put", "cache.cas", "queue.peek"...)
    fault: str | None = None  # fault name for environment actions ("db-down", "crash")
    op: int | None = None  # index of the client operation this step belongs to
    # How the step ends its operation: "ok" (it returns; a write is acknowledged), "fail"
    # (it raises), None (the operation goes on). What a read returns, when it returns.
    outcome: str | None = None
    result: Expr | None = None


@attrs.frozen(slots=True)
class Op:
    """An operation a client invokes: ``write`` (with its value code), ``read`` or ``flush``."""

    kind: str
    value: int | None = None


@attrs.frozen(slots=True)
class Client:
    name: str
    ops: tuple[Op, ...]


@attrs.frozen(slots=True)
class Faults:
    """Fault budget of a scenario: how many times each fault may be injected."""

    db_down: int = 0  # each db-down may be followed by one db-up
    crash: int = 0  # application crash followed by recovery (factory called again)
    # The clock moves past the fill TTL (which is also the staleness bound T): every entry
    # with a TTL expires, and a value the DB stopped holding before it is older than T.
    advance: int = 0

    def describe(self) -> str:
        parts = []
        if self.db_down:
            parts.append(f"db-down/up x{self.db_down}")
        if self.crash:
            parts.append(f"crash+recovery x{self.crash}")
        if self.advance:
            parts.append(f"clock past the TTL x{self.advance}")
        return ", ".join(parts) if parts else "no faults"


@attrs.frozen(slots=True)
class Scenario:
    """Bounds of one exploration: clients with their operations, faults, initial stores."""

    clients: tuple[Client, ...]
    faults: Faults = Faults()
    cache_initial: int = ABSENT  # INITIAL: the cache holds v0 from an earlier fill

    @property
    def value_count(self) -> int:
        """Number of value codes in use, ABSENT and v0 included."""
        return 2 + sum(1 for c in self.clients for o in c.ops if o.kind == "write")

    @property
    def writers(self) -> tuple[Client, ...]:
        return tuple(c for c in self.clients if any(o.kind == "write" for o in c.ops))

    def value_name(self, code: int) -> str:
        if code == ABSENT:
            return "None"
        if code < self.value_count:
            return f"v{code - 1}"
        return f"lease:{self.clients[code - self.value_count].name}"

    def describe(self) -> str:
        roles = []
        for c in self.clients:
            ops = ", ".join(
                f"write {self.value_name(o.value)}" if o.kind == "write" else o.kind
                for o in c.ops
                if o.value is not None or o.kind != "write"
            )
            roles.append(f"{c.name}: {ops}")
        cache = "cache holds v0" if self.cache_initial == INITIAL else "cache empty"
        return f"{'; '.join(roles)}; {self.faults.describe()}; DB holds v0, {cache}"


@attrs.frozen(slots=True)
class TransitionSystem:
    """A protocol instantiated for one scenario."""

    protocol: str
    policy: str
    scenario: Scenario
    variables: tuple[Variable, ...]
    init: tuple[tuple[str, int], ...]
    actions: tuple[Action, ...]
    observables: tuple[tuple[str, Expr], ...]

    def observable(self, name: str) -> Expr:
        return dict(self.observables)[name]

    def has_observable(self, name: str) -> bool:
        return any(n == name for n, _ in self.observables)

    @property
    def initial(self) -> Mapping[str, int]:
        return dict(self.init)

    def index(self) -> dict[str, int]:
        """Position of each variable in a state tuple (the explicit engine's encoding)."""
        return {v.name: i for i, v in enumerate(self.variables)}
