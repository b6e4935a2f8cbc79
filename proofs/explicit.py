"""Explicit-state exploration: every interleaving of a protocol model, as a networkx graph.

The model's expressions are compiled once to Python source (states are tuples of ints,
variables are tuple positions), so exploring a state costs one call of a generated
function instead of walking expression trees. Breadth-first search makes the first bad
state found a nearest one, hence its path from the initial state a shortest
counterexample. The exploration is exhaustive for the scenario's bounds: every model
terminates (operations and faults are finite), so no depth bound is needed.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

import attrs
import networkx as nx

from model.protocols import Property, TransitionSystem
from model.protocols.expr import And, Const, Eq, Expr, Ite, Lt, Not, Or, Var, is_boolean
from proofs.verdict import PROVED, REFUTED, Result, decode_trace

__all__ = ["Exploration", "explore", "check", "compile_expr", "to_python"]

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
    return eval(compile(src, f"<{system.protocol}>", "eval"))  # noqa: S307 - our own DSL


def _successor_function(system: TransitionSystem) -> Callable[[State], list[tuple[int, State]]]:
    """One generated function returning (action index, next state) for each enabled action."""
    index = system.index()
    lines = ["def successors(s):", "    out = []"]
    for a, action in enumerate(system.actions):
        effects = dict(action.effects)
        parts = []
        for v in system.variables:
            if v.name in effects:
                e = effects[v.name]
                src = to_python(e, index)
                # Store truth values as 0/1 so states hash and print as the engines' integers.
                parts.append(f"(1 if {src} else 0)" if is_boolean(e) else src)
            else:
                parts.append(f"s[{index[v.name]}]")
        lines.append(f"    if {to_python(action.guard, index)}:")
        lines.append(f"        out.append(({a}, ({', '.join(parts)},)))")
    lines.append("    return out")
    namespace: dict[str, object] = {}
    exec(compile("\n".join(lines), f"<{system.protocol} successors>", "exec"), namespace)  # noqa: S102
    return namespace["successors"]  # type: ignore[return-value]


@attrs.frozen(slots=True)
class Exploration:
    """The reachable state graph of a system. Edge attribute ``action``: action index."""

    system: TransitionSystem
    graph: nx.DiGraph
    initial: State
    parent: dict[State, tuple[State, int] | None]
    seconds: float

    def path_to(self, state: State) -> list[tuple[State, int]]:
        """Shortest path (BFS tree) from the initial state, as (state, action) edges."""
        path = []
        node = self.parent[state]
        current = state
        while node is not None:
            prev, a = node
            path.append((prev, a))
            current = prev
            node = self.parent[current]
        return path[::-1]

    def as_dict(self, state: State) -> dict[str, int]:
        return {v.name: state[i] for i, v in enumerate(self.system.variables)}


def explore(system: TransitionSystem) -> Exploration:
    """Breadth-first enumeration of every reachable state and transition."""
    start = time.perf_counter()
    successors = _successor_function(system)
    initial: State = tuple(dict(system.init)[v.name] for v in system.variables)
    parent: dict[State, tuple[State, int] | None] = {initial: None}
    edges: list[tuple[State, State, dict[str, int]]] = []
    queue = deque([initial])
    while queue:
        s = queue.popleft()
        for a, t in successors(s):
            edges.append((s, t, {"action": a}))
            if t not in parent:
                parent[t] = (s, a)
                queue.append(t)
    graph = nx.DiGraph()
    graph.add_nodes_from(parent)  # insertion order is BFS order
    graph.add_edges_from(edges)
    return Exploration(system, graph, initial, parent, time.perf_counter() - start)


def bad_states(exploration: Exploration, prop: Property) -> list[State]:
    holds = compile_expr(prop.expr(exploration.system), exploration.system)
    return [s for s in exploration.graph.nodes if not holds(s)]


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
        return Result(verdict=PROVED, bound="exhaustive (every interleaving)", **common)
    # Nodes are in BFS order, so the first bad node is a nearest one.
    path = ex.path_to(bad[0])
    states = [ex.as_dict(s) for s, _ in path] + [ex.as_dict(bad[0])]
    trace = decode_trace(
        system, [a for _, a in path], states, prop=prop.id, engine="explicit"
    )
    return Result(
        verdict=REFUTED, bound="exhaustive (every interleaving)", trace=trace,
        reason=f"{len(bad)} of {common['states']} states violate it", **common,
    )
