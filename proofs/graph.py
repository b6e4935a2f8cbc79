"""Drawing a state graph: Graphviz DOT text, and PNG/SVG through the ``dot`` program.

Bad states (those violating the property) are filled red; the shortest counterexample
path from the initial state is drawn thick and red, its states outlined. The DOT text is
written by hand so that no Python Graphviz binding is needed; rendering needs the
``dot`` executable.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from model.protocols import Property
from proofs.explicit import Exploration, bad_states

__all__ = ["RenderError", "to_dot", "render", "INSTALL_HINT"]

INSTALL_HINT = "install Graphviz (apt-get install -y graphviz) or write --dot PATH instead"


class RenderError(RuntimeError):
    """PNG/SVG rendering is impossible (no ``dot`` on PATH) or failed."""


def _label(ex: Exploration, state: int) -> str:
    sc = ex.system.scenario
    d = ex.as_dict(state)
    name = sc.value_name
    parts = [f"cache={name(d['cache'])}", f"db={name(d['db'])}"]
    queue = [name(d[k]) for k in sorted(d) if k[0] == "q" and k[1:].isdigit() and d[k]]
    if queue:
        parts.append("queue=[" + ",".join(queue) + "]")
    if "mem" in d and d["mem"]:
        parts.append(f"mem={name(d['mem'])}")
    if not d["db_up"]:
        parts.append("DB DOWN")
    pcs = " ".join(f"{c.name}:{d[c.name + '_pc']}" for c in sc.clients)
    return "\\n".join([", ".join(parts), pcs])


def _quote(s: str) -> str:
    return '"' + s.replace('"', '\\"') + '"'


def to_dot(ex: Exploration, prop: Property) -> str:
    """DOT text of the state graph with bad states and the counterexample path marked."""
    bad = bad_states(ex, prop)
    bad_set = set(bad)
    path_edges: set[tuple[int, int]] = set()
    path_nodes: set[int] = set()
    if bad:
        path = ex.path_to(bad[0])
        nodes = [s for s, _ in path] + [bad[0]]
        path_nodes = set(nodes)
        path_edges = set(zip(nodes, nodes[1:]))
    ids = {n: f"s{n}" for n in ex.graph.nodes}
    title = f"{ex.system.protocol} / {prop.id}: {ex.system.scenario.describe()}"
    lines = [
        "digraph states {",
        f"  label={_quote(title)}; labelloc=t; rankdir=TB;",
        '  node [shape=box, fontsize=9, fontname="Helvetica"];',
        '  edge [fontsize=8, fontname="Helvetica"];',
    ]
    for s, sid in ids.items():
        attrs = [f"label={_quote(_label(ex, s))}"]
        if s in bad_set:
            attrs += ['style=filled', 'fillcolor="#f4a3a3"', 'class="bad"']
        if s in path_nodes:
            attrs += ['color=red', 'penwidth=2']
        if s == ex.initial:
            attrs += ['peripheries=2']
        lines.append(f"  {sid} [{', '.join(attrs)}];")
    for u, v, data in ex.graph.edges(data=True):
        action = ex.system.actions[data["action"]]
        attrs = [f"label={_quote(action.name)}"]
        if (u, v) in path_edges:
            attrs += ['color=red', 'penwidth=3', 'class="counterexample"']
        lines.append(f"  {ids[u]} -> {ids[v]} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(dot_text: str, path: Path, fmt: str) -> None:
    """Render DOT text to ``path`` as ``fmt`` ("png" or "svg") with Graphviz."""
    exe = shutil.which("dot")
    if exe is None:
        raise RenderError(f"cannot render {fmt}: Graphviz 'dot' is not on PATH; {INSTALL_HINT}")
    proc = subprocess.run(
        [exe, f"-T{fmt}", "-o", str(path)], input=dot_text.encode(), capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip().splitlines()
        raise RenderError(f"dot failed: {err[0] if err else proc.returncode}")
