"""State graphs drawn without Graphviz: the DOT text of `proofs.graph.to_dot`, laid out in
layers and written as SVG by Python alone (pip cannot install Graphviz's `dot`).

    svg = draw_svg(to_dot(exploration, prop))

The layout: each state's layer is its distance from the initial state (breadth first), so
the picture reads from the top down as the protocol runs; the order within a layer is
improved by a few barycenter sweeps (a state sits under the states that lead to it). Edges
forward go down as curves; an edge back to an earlier layer or within one is an arc on the
right. What `to_dot` marks is kept: bad states filled red, the shortest counterexample thick
red, the initial state outlined twice. Every state and edge has a `<title>` tooltip; edge
labels are written on the counterexample's edges, and on every edge of a small graph, where there is room.
"""

from __future__ import annotations

import html
import re
from collections import deque

__all__ = ["draw_svg", "parse_dot"]

FONT = 9  # px, monospace: its width per character is known
CHAR_W = 0.62 * FONT
LINE_H = 11
PAD = 5
GAP_X = 22
GAP_Y = 56
ALL_EDGE_LABELS = 60  # graphs with at most this many edges have every edge labelled

_ATTR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^,\]\s]+)')
_NODE = re.compile(r"^\s*(\w+)\s*\[(.*)\];\s*$")
_EDGE = re.compile(r"^\s*(\w+)\s*->\s*(\w+)\s*\[(.*)\];\s*$")
_TITLE = re.compile(r'^\s*label=("(?:[^"\\]|\\.)*")')


def _value(raw: str) -> str:
    if raw.startswith('"'):
        return raw[1:-1].replace('\\"', '"')
    return raw


def _attrs(text: str) -> dict[str, str]:
    return {k: _value(v) for k, v in _ATTR.findall(text)}


def parse_dot(dot: str) -> tuple[str, dict[str, dict[str, str]], list[tuple[str, str, dict[str, str]]]]:
    """(title, nodes {id: attributes}, edges [(from, to, attributes)]) of `to_dot`'s text."""
    title, nodes, edges = "", {}, []
    for line in dot.splitlines():
        if m := _EDGE.match(line):
            edges.append((m[1], m[2], _attrs(m[3])))
        elif (m := _NODE.match(line)) and m[1] not in ("node", "edge", "graph"):
            nodes[m[1]] = _attrs(m[2])
        elif m := _TITLE.match(line):
            title = _value(m[1])
    return title, nodes, edges


def _layers(nodes: list[str], edges: list[tuple[str, str, dict[str, str]]], initial: str) -> dict[str, int]:
    succ: dict[str, list[str]] = {n: [] for n in nodes}
    for u, v, _ in edges:
        succ[u].append(v)
    rank = {initial: 0}
    queue = deque([initial])
    while queue:
        u = queue.popleft()
        for v in succ[u]:
            if v not in rank:
                rank[v] = rank[u] + 1
                queue.append(v)
    last = max(rank.values(), default=0)
    for n in nodes:  # unreachable from the initial state (not expected): one layer below
        rank.setdefault(n, last + 1)
    return rank


def _order(layers: list[list[str]], edges: list[tuple[str, str, dict[str, str]]],
           rank: dict[str, int]) -> None:
    """Barycenter sweeps, down then up, in place."""
    preds: dict[str, list[str]] = {}
    succs: dict[str, list[str]] = {}
    for u, v, _ in edges:
        if rank[v] == rank[u] + 1:
            preds.setdefault(v, []).append(u)
            succs.setdefault(u, []).append(v)
    for _ in range(4):
        for neighbours, seq in ((preds, range(1, len(layers))), (succs, range(len(layers) - 2, -1, -1))):
            for r in seq:
                other = layers[r - 1] if neighbours is preds else layers[r + 1]
                pos = {n: i for i, n in enumerate(other)}
                here = {n: i for i, n in enumerate(layers[r])}

                def key(n: str, pos: dict[str, int] = pos, here: dict[str, int] = here,
                        neighbours: dict[str, list[str]] = neighbours) -> float:
                    near = [pos[m] for m in neighbours.get(n, ()) if m in pos]
                    return sum(near) / len(near) if near else here[n] * len(pos) / max(len(here), 1)

                layers[r].sort(key=key)


def _point(curve: tuple[tuple[float, float], ...], t: float) -> tuple[float, float]:
    """The point at `t` of a cubic Bezier curve."""
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = curve
    a, b, c, d = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t ** 2, t ** 3
    return a * x0 + b * x1 + c * x2 + d * x3, a * y0 + b * y1 + c * y2 + d * y3


def draw_svg(dot: str) -> str:
    """An SVG document of the state graph described by `dot` (as `to_dot` writes it)."""
    e = html.escape
    title, nodes, edges = parse_dot(dot)
    if not nodes:
        return '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40"><text x="4" y="20">no states</text></svg>'
    names = list(nodes)
    initial = next((n for n, a in nodes.items() if a.get("peripheries") == "2"), names[0])
    rank = _layers(names, edges, initial)
    layers: list[list[str]] = [[] for _ in range(max(rank.values()) + 1)]
    for n in names:
        layers[rank[n]].append(n)
    _order(layers, edges, rank)
    lines = {n: nodes[n].get("label", n).split("\\n") for n in names}
    size = {n: (max(len(x) for x in lines[n]) * CHAR_W + 2 * PAD, len(lines[n]) * LINE_H + 2 * PAD) for n in names}
    row_w = [sum(size[n][0] for n in layer) + GAP_X * (len(layer) - 1) for layer in layers]
    width = max(max(row_w) + 80, len(title) * 7.5 + 20)  # 80: room for the arcs on the right
    pos: dict[str, tuple[float, float]] = {}  # centre of each state
    y = 44.0
    for layer, w in zip(layers, row_w):
        h = max(size[n][1] for n in layer)
        x = (width - 80 - w) / 2
        for n in layer:
            pos[n] = (x + size[n][0] / 2, y + h / 2)
            x += size[n][0] + GAP_X
        y += h + GAP_Y
    height = y - GAP_Y + 30
    labelled = len(edges) <= ALL_EDGE_LABELS
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" class="layered">',
           "<defs>"
           '<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#555"/></marker>'
           '<marker id="arrow-red" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="5" markerHeight="5" '
           'orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="red"/></marker></defs>',
           # Scoped to this kind of picture: inline in a page, a <style> applies to the whole page.
           f'<style>svg.layered text{{font:{FONT}px ui-monospace,"DejaVu Sans Mono",monospace;fill:#222}}'
           "svg.layered text.title{font:bold 13px system-ui,sans-serif}"
           "svg.layered path.e{fill:none;stroke:#555;stroke-width:1}"
           "svg.layered path.e.counterexample{stroke:red;stroke-width:3}"
           "svg.layered text.el{font-size:8px;fill:#555}"
           "svg.layered text.el.counterexample{fill:#b00020;font-weight:700}</style>",
           f'<text class="title" x="10" y="20">{e(title)}</text>']
    edge_out: list[str] = []
    label_out: list[str] = []
    labels: list[tuple[bool, tuple[tuple[float, float], ...], str, bool]] = []
    for u, v, a in edges:
        (ux, uy), (vx, vy) = pos[u], pos[v]
        (uw, uh), (vw, vh) = size[u], size[v]
        red = a.get("color") == "red"
        if rank[v] > rank[u]:  # downwards
            x1, y1, x2, y2 = ux, uy + uh / 2, vx, vy - vh / 2
            dy = (y2 - y1) / 2
            curve = ((x1, y1), (x1, y1 + dy), (x2, y2 - dy), (x2, y2))
        elif u == v:  # a self-loop, on the right
            x1, y1 = ux + uw / 2, uy - 4
            curve = ((x1, y1), (x1 + 28, y1 - 18), (x1 + 28, y1 + 26), (x1, y1 + 8))
        else:  # back up, or across a layer: an arc out to the right of both
            x1, y1, x2, y2 = ux + uw / 2, uy, vx + vw / 2, vy
            bulge = max(x1, x2) + 30 + abs(y2 - y1) * 0.15
            curve = ((x1, y1), (bulge, y1), (bulge, y2), (x2, y2))
        d = "M{:.1f},{:.1f} C{:.1f},{:.1f} {:.1f},{:.1f} {:.1f},{:.1f}".format(*(c for pt in curve for c in pt))
        cls = "e counterexample" if red else "e"
        action = a.get("label", "")
        edge_out.append(f'<g class="edge"><title>{e(action)}</title><path class="{cls}" d="{d}" '
                        f'marker-end="url(#{"arrow-red" if red else "arrow"})"/></g>')
        if action and (red or labelled):
            labels.append((not red, curve, action, red))
    taken = [(pos[n][0] - size[n][0] / 2, pos[n][1] - size[n][1] / 2, pos[n][0] + size[n][0] / 2,
              pos[n][1] + size[n][1] / 2) for n in names]
    for _, curve, action, red in sorted(labels, key=lambda x: x[0]):  # the counterexample's first
        w = len(action) * 0.62 * 8
        for t in (0.5, 0.38, 0.62, 0.27, 0.73, 0.18, 0.82):
            mx, my = _point(curve, t)
            box = (mx + 3, my - 7, mx + 3 + w, my + 2)
            if not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in taken):
                taken.append(box)
                label_out.append(f'<text class="el{" counterexample" if red else ""}" x="{mx + 3:.1f}" '
                                 f'y="{my:.1f}">{e(action)}</text>')
                break
    out += edge_out
    for n in names:
        a = nodes[n]
        (cx, cy), (w, h) = pos[n], size[n]
        x0, y0 = cx - w / 2, cy - h / 2
        bad = a.get("class") == "bad"
        fill = a.get("fillcolor", "#f4a3a3") if bad else "#fff"
        stroke, sw = ("red", 2) if a.get("color") == "red" else ("#333", 1)
        group = ["node", "bad"] if bad else ["node"]
        out.append(f'<g class="{" ".join(group)}" id="{e(n)}"><title>{e(" / ".join(lines[n]))}</title>'
                   f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{fill}" '
                   f'stroke="{stroke}" stroke-width="{sw}"/>')
        if n == initial:
            out.append(f'<rect x="{x0 - 3:.1f}" y="{y0 - 3:.1f}" width="{w + 6:.1f}" height="{h + 6:.1f}" '
                       f'fill="none" stroke="{stroke}"/>')
        for i, text in enumerate(lines[n]):
            out.append(f'<text x="{x0 + PAD:.1f}" y="{y0 + PAD + (i + 1) * LINE_H - 2.5:.1f}">{e(text)}</text>')
        out.append("</g>")
    out += label_out
    out.append("</svg>")
    return "\n".join(out) + "\n"
