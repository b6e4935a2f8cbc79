"""Symbolic checking with Z3: bounded model checking, k-induction, and completeness.

The same protocol expressions the explicit engine evaluates are translated to Z3 terms:
one integer constant per variable per time step, one transition relation (a disjunction
of the actions' guarded commands, each with its frame condition). Three queries settle a
property, depth by depth:

* **base** (BMC): can a bad state be reached in exactly ``i`` steps? Depths are tried in
  increasing order, so the first satisfiable one gives a shortest counterexample.
* **k-induction** (k = i + 1): is there any path of k good, pairwise distinct states
  followed by a bad one, from an *arbitrary* start? If not, together with the base cases
  the property holds at every depth: PROVED for every run of the scenario.
* **completeness**: does any run from the initial state have ``i + 1`` steps at all? If
  not, every run ends within ``i`` steps and the base cases covered all of them: PROVED for
  every run of the scenario (every model here terminates: operations and faults are finite).

Either way the proof is about the one scenario encoded (its clients, their operations, its
faults): no result here holds for any number of operations or clients, so none is called
unbounded.

Solver outcomes are mapped explicitly: ``unsat`` -> the query's claim holds, ``sat`` ->
counterexample, ``unknown`` -> UNKNOWN with ``reason_unknown()``; UNKNOWN never proves.
"""

from __future__ import annotations

import time

import z3

from model.protocols import Property, TransitionSystem
from model.protocols.expr import And, Const, Eq, Expr, Ite, Lt, Not, Or, Var, is_boolean
from proofs.verdict import EVERY_RUN, PROVED, REFUTED, UNKNOWN, Result, decode_trace

__all__ = ["DEFAULT_TIMEOUT_MS", "Encoding", "check", "to_z3"]

DEFAULT_TIMEOUT_MS = 60_000
INDUCTION_LIMIT = 4
INDUCTION_TIMEOUT_MS = 5_000


def to_z3(e: Expr, env: dict[str, z3.BitVecRef], width: int) -> z3.ExprRef:
    """The Z3 term of ``e`` with variables bound by ``env``.

    Values are unsigned bit-vectors of ``width`` bits: every domain is a small range of
    naturals and the language has no arithmetic, so this is exact, and bit-blasting
    (QF_BV) is an order of magnitude faster here than linear integer arithmetic.
    """
    if isinstance(e, Const):
        return z3.BitVecVal(e.value, width)
    if isinstance(e, Var):
        return env[e.name]
    if isinstance(e, Eq):
        return to_z3(e.left, env, width) == to_z3(e.right, env, width)
    if isinstance(e, Lt):
        return z3.ULT(to_z3(e.left, env, width), to_z3(e.right, env, width))
    if isinstance(e, Not):
        return z3.Not(to_z3(e.arg, env, width))
    if isinstance(e, And):
        return z3.And(*(to_z3(a, env, width) for a in e.args)) if e.args else z3.BoolVal(True)
    if isinstance(e, Or):
        return z3.Or(*(to_z3(a, env, width) for a in e.args)) if e.args else z3.BoolVal(False)
    if isinstance(e, Ite):
        c, t, f = (to_z3(x, env, width) for x in (e.cond, e.then, e.orelse))
        return z3.If(c, t, f)
    raise TypeError(f"not an expression: {e!r}")


class Encoding:
    """Time-indexed copies of a system's variables, and its relations between them."""

    def __init__(self, system: TransitionSystem, prefix: str = ""):
        self.system = system
        self.prefix = prefix
        top = max(max(v.hi for v in system.variables), len(system.actions))
        self.width = top.bit_length() + 1
        self._states: list[dict[str, z3.BitVecRef]] = []
        self._actions: list[z3.BitVecRef] = []

    def z3(self, e: Expr, i: int) -> z3.ExprRef:
        return to_z3(e, self.state(i), self.width)

    def value(self, e: Expr, i: int) -> z3.ExprRef:
        """An assigned expression as a bit-vector (truth values stored as 0/1)."""
        term = self.z3(e, i)
        if is_boolean(e):
            return z3.If(term, z3.BitVecVal(1, self.width), z3.BitVecVal(0, self.width))
        return term

    def state(self, i: int) -> dict[str, z3.BitVecRef]:
        while len(self._states) <= i:
            t = len(self._states)
            self._states.append(
                {
                    v.name: z3.BitVec(f"{self.prefix}{v.name}@{t}", self.width)
                    for v in self.system.variables
                }
            )
        return self._states[i]

    def action(self, i: int) -> z3.BitVecRef:
        while len(self._actions) <= i:
            self._actions.append(z3.BitVec(f"{self.prefix}action@{len(self._actions)}", self.width))
        return self._actions[i]

    def domain(self, i: int) -> z3.BoolRef:
        s = self.state(i)
        return z3.And(
            *(z3.And(z3.ULE(v.lo, s[v.name]), z3.ULE(s[v.name], v.hi)) for v in self.system.variables)
        )

    def initial(self) -> z3.BoolRef:
        s = self.state(0)
        return z3.And(*(s[name] == value for name, value in self.system.init))

    def transition(self, i: int) -> z3.BoolRef:
        """Some action is enabled in state i and state i+1 is its result.

        Functional form: the action taken is a variable, and each state variable's next
        value is a case split over the actions that assign it (a frame condition
        otherwise). This is much smaller than one full assignment per action.
        """
        s, t, a = self.state(i), self.state(i + 1), self.action(i)
        actions = self.system.actions
        enabled = z3.Or(*(z3.And(a == k, self.z3(act.guard, i)) for k, act in enumerate(actions)))
        updates = []
        for v in self.system.variables:
            nxt: z3.ExprRef = s[v.name]
            for k, act in enumerate(actions):
                e = dict(act.effects).get(v.name)
                if e is not None:
                    nxt = z3.If(a == k, self.value(e, i), nxt)
            updates.append(t[v.name] == nxt)
        return z3.And(enabled, *updates)

    def holds(self, prop: Property, i: int) -> z3.BoolRef:
        return self.z3(prop.expr(self.system), i)

    def distinct(self, i: int, j: int) -> z3.BoolRef:
        s, t = self.state(i), self.state(j)
        return z3.Or(*(s[v.name] != t[v.name] for v in self.system.variables))


def _solver(timeout_ms: int) -> z3.Solver:
    solver = z3.SolverFor("QF_BV")
    solver.set("timeout", timeout_ms)
    return solver


def _induction_step(
    system: TransitionSystem, prop: Property, k: int, timeout_ms: int
) -> z3.CheckSatResult:
    """The k-induction step query; ``unsat`` means the step holds."""
    enc = Encoding(system, prefix="ind.")
    solver = _solver(timeout_ms)
    for i in range(k + 1):
        solver.add(enc.domain(i))
    for i in range(k):
        solver.add(enc.holds(prop, i), enc.transition(i))
        for j in range(i):
            solver.add(enc.distinct(j, i))
    for j in range(k):
        solver.add(enc.distinct(j, k))
    solver.add(z3.Not(enc.holds(prop, k)))
    return solver.check()


def check(
    system: TransitionSystem,
    prop: Property,
    depth: int,
    *,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
    induction_limit: int = INDUCTION_LIMIT,
) -> Result:
    start = time.perf_counter()
    common = dict(
        protocol=system.protocol,
        property=prop.id,
        engine="z3",
        scenario=system.scenario.describe(),
    )

    def unknown(query: str, reason: str, i: int) -> Result:
        return Result(
            verdict=UNKNOWN, bound=f"{query} query at depth {i}", reason=reason,
            seconds=time.perf_counter() - start, **common,
        )

    enc = Encoding(system)
    bmc = _solver(timeout_ms)
    bmc.add(enc.initial(), enc.domain(0))
    for i in range(depth + 1):
        bad = z3.Not(enc.holds(prop, i))
        result = bmc.check(bad)
        if result == z3.sat:
            model = bmc.model()
            actions = [model.eval(enc.action(t)).as_long() for t in range(i)]
            states = [
                {n: model.eval(x, model_completion=True).as_long() for n, x in enc.state(t).items()}
                for t in range(i + 1)
            ]
            return Result(
                verdict=REFUTED, bound=f"shortest counterexample: {i} steps",
                trace=decode_trace(system, actions, states, prop=prop.id, engine="z3"),
                seconds=time.perf_counter() - start, states=None, **common,
            )
        if result != z3.unsat:
            return unknown("base", bmc.reason_unknown(), i)
        if i < depth:
            bmc.add(enc.transition(i), enc.domain(i + 1))
            longer = bmc.check()
            if longer == z3.unsat:
                return Result(
                    verdict=PROVED, bound=f"{EVERY_RUN} (<= {i} steps)",
                    reason=f"no run has {i + 1} steps; bounded checks to depth {i} cover all runs",
                    seconds=time.perf_counter() - start, **common,
                )
            if longer != z3.sat:
                return unknown("completeness", bmc.reason_unknown(), i)
        # k-induction is a shortcut, tried only for small k (its query grows as k squared);
        # an unknown answer here proves nothing and is simply not used.
        if i + 1 <= induction_limit:
            step = _induction_step(system, prop, i + 1, min(timeout_ms, INDUCTION_TIMEOUT_MS))
            if step == z3.unsat:
                return Result(
                    verdict=PROVED, bound=f"{EVERY_RUN} ({i + 1}-induction)",
                    reason=f"base cases to depth {i} and the {i + 1}-induction step hold",
                    seconds=time.perf_counter() - start, **common,
                )
    return Result(
        verdict=PROVED, bound=f"bounded to k={depth} (runs of <= {depth} steps)",
        reason=f"no counterexample of at most {depth} steps; not shown for longer runs",
        seconds=time.perf_counter() - start, **common,
    )
