"""Explicit-state exploration: every interleaving of a protocol model, as a networkx graph.

The model's expressions are compiled once to Python source (states are tuples of ints,
variables are tuple positions), so exploring a state costs one call of a generated
function instead of walking expression trees. Breadth-first search makes the first bad
state found a nearest one, hence its path from the initial state a shortest
counterexample. The exploration is complete for the scenario (its clients, their
operations, its faults): every model terminates, so no depth bound is needed. It proves
nothing for another scenario: more clients, operations or faults are another exploration.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import attrs
import networkx as nx

from model.protocols import Property, TransitionSystem
from model.protocols.expr import And, Const, Eq, Expr, Ite, Lt, Not, Or, Var, is_boolean
from proofs.verdict import EVERY_INTERLEAVING, PROVED, REFUTED, Result, decode_trace

__all__ = ["Exploration", "check", "compile_expr", "explore", "to_python"]

State = tuple[int, ...]


def to_python(e: Expr, index: dict[str, int]) -> str:
    """Python source of ``e`` over a state tuple named ``s``."""
    if isinstance(e, Const):
        return str(e.value)
    if isinstance(e, Var):
        return f"s[{index[e.name]}]"
    if isinstance(e, Eq):
        return f"({to_python(e.left, index)} == {to_python(e.right, index)})"
    if isinstance(e, Lt):
        return f"({to_python(e.left, index)} < {to_python(e.right, index)})"
    if isinstance(e, Not):
        return f"(not {to_python(e.arg, index)})"
    if isinstance(e, And):
        return "(" + " and ".join(to_python(a, index) for a in e.args) + ")" if e.args else "True"
    if isinstance(e, Or):
        return "(" + " or ".join(to_python(a, index) for a in e.args) + ")" if e.args else "False"
    if isinstance(e, Ite):
        c, t, f = (to_python(x, index) for x in (e.cond, e.then, e.orelse))
        return f"({t} if {c} else {f})"
    raise TypeError(f"not an expression: {e!r}")


def compile_expr(e: Expr, system: TransitionSystem) -> Callable[[State], int | bool]:
    src = f"lambda s: {to_python(e, system.index())}"
    return eval(compile(src, f"<{system.protocol}>", "eval"))


def _pc_test(guard: Expr) -> tuple[str, int, Expr] | None:
    """Split ``pc == n and rest`` (the builder's shape for client steps) into its parts."""
    if isinstance(guard, And) and guard.args and isinstance(guard.args[0], Eq):
        first = guard.args[0]
        if (isinstance(first.left, Var) and first.left.name.endswith("_pc")
                and isinstance(first.right, Const)):
            rest = And(guard.args[1:]) if len(guard.args) > 2 else (
                guard.args[1] if len(guard.args) == 2 else And(()))
            return first.left.name, first.right.value, rest
    return None


def _successor_function(system: TransitionSystem) -> Callable[[State], list[tuple[int, State]]]:
    """One generated function returning (action index, next state) for each enabled action.

    Client actions are dispatched on the client's program counter (one comparison chain
    per client instead of one full guard per action), which is most of the speed.
    """
    index = system.index()

    def emit(a: int, indent: str) -> list[str]:
        effects = dict(system.actions[a].effects)
        parts = []
        for v in system.variables:
            if v.name in effects:
                e = effects[v.name]
                src = to_python(e, index)
                # Store truth values as 0/1 so states hash and print as the engines' integers.
                parts.append(f"(1 if {src} else 0)" if is_boolean(e) else src)
            else:
                parts.append(f"s[{index[v.name]}]")
        return [f"{indent}out.append(({a}, ({', '.join(parts)},)))"]

    by_pc: dict[str, dict[int, list[tuple[int, Expr]]]] = {}
    others: list[int] = []
    for a, action in enumerate(system.actions):
        split = _pc_test(action.guard)
        if split is None:
            others.append(a)
        else:
            pc, n, rest = split
            by_pc.setdefault(pc, {}).setdefault(n, []).append((a, rest))
    lines = ["def successors(s):", "    out = []"]
    for pc, cases in by_pc.items():
        lines.append(f"    p = s[{index[pc]}]")
        for k, (n, acts) in enumerate(sorted(cases.items())):
            lines.append(f"    {'if' if k == 0 else 'elif'} p == {n}:")
            for a, rest in acts:
                lines.append(f"        if {to_python(rest, index)}:")
                lines += emit(a, " " * 12)
    for a in others:
        lines.append(f"    if {to_python(system.actions[a].guard, index)}:")
        lines += emit(a, " " * 8)
    lines.append("    return out")
    namespace: dict[str, object] = {}
    exec(compile("\n".join(lines), f"<{system.protocol} successors>", "exec"), namespace)  # noqa: S102
    return namespace["successors"]  # type: ignore[return-value]


@attrs.frozen(slots=True)
class Exploration:
    """The reachable state graph of a system.

    Graph nodes are integers numbering the states in BFS order (``states[i]`` is node
    i's state tuple): integer nodes make building the networkx graph several times
    cheaper than tuple nodes. Edge attribute ``action``: the action's index.
    """

    system: TransitionSystem
    graph: nx.DiGraph
    states: list[State]
    parent: list[tuple[int, int] | None]  # BFS tree: (parent node, action)
    seconds: float

    initial = 0

    def path_to(self, node: int) -> list[tuple[int, int]]:
        """Shortest path from the initial state to ``node``, as (node, action) edges."""
        path = []
        step = self.parent[node]
        while step is not None:
            path.append(step)
            step = self.parent[step[0]]
        return path[::-1]

    def as_dict(self, node: int) -> dict[str, int]:
        state = self.states[node]
        return {v.name: state[i] for i, v in enumerate(self.system.variables)}


def explore(system: TransitionSystem) -> Exploration:
    """Breadth-first enumeration of every reachable state and transition."""
    start = time.perf_counter()
    successors = _successor_function(system)
    initial: State = tuple(dict(system.init)[v.name] for v in system.variables)
    ids: dict[State, int] = {initial: 0}
    states: list[State] = [initial]
    parent: list[tuple[int, int] | None] = [None]
    edges: list[tuple[int, int, dict[str, int]]] = []
    i = 0
    while i < len(states):  # ``states`` is the BFS queue: appended in discovery order
        for a, t in successors(states[i]):
            j = ids.get(t)
            if j is None:
                j = ids[t] = len(states)
                states.append(t)
                parent.append((i, a))
            edges.append((i, j, {"action": a}))
        i += 1
    graph = nx.DiGraph()
    graph.add_nodes_from(range(len(states)))
    graph.add_edges_from(edges)
    return Exploration(system, graph, states, parent, time.perf_counter() - start)


def bad_states(exploration: Exploration, prop: Property) -> list[int]:
    """Nodes violating ``prop``, in BFS order (so the first is a nearest one)."""
    holds = compile_expr(prop.expr(exploration.system), exploration.system)
    return [n for n, s in enumerate(exploration.states) if not holds(s)]


def check(system: TransitionSystem, prop: Property, exploration: Exploration | None = None) -> Result:
    """PROVED (every reachable state satisfies ``prop``) or REFUTED with a shortest trace."""
    start = time.perf_counter()
    ex = exploration or explore(system)
    bad = bad_states(ex, prop)
    seconds = time.perf_counter() - start
    common = dict(
        protocol=system.protocol,
        property=prop.id,
        engine="explicit",
        seconds=seconds,
        scenario=system.scenario.describe(),
        states=ex.graph.number_of_nodes(),
        edges=ex.graph.number_of_edges(),
    )
    if not bad:
        return Result(verdict=PROVED, bound=EVERY_INTERLEAVING, **common)
    path = ex.path_to(bad[0])
    states = [ex.as_dict(s) for s, _ in path] + [ex.as_dict(bad[0])]
    trace = decode_trace(
        system, [a for _, a in path], states, prop=prop.id, engine="explicit"
    )
    return Result(
        verdict=REFUTED, bound=EVERY_INTERLEAVING, trace=trace,
        reason=f"{len(bad)} of {common['states']} states violate it", **common,
    )
