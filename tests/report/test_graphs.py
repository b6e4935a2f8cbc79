"""State graphs without Graphviz: the built-in layered layout of `to_dot`'s text, and the
report drawing with it when `dot` is not on PATH (one line says how to get Graphviz)."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cache_conformance.report import execute
from cache_conformance.report.graphs import draw_svg, parse_dot
from model.protocols import build, property_by_id, protocol_by_id, rows_for
from proofs import explicit
from proofs.graph import to_dot

SVG = "{http://www.w3.org/2000/svg}"


def _dot(protocol: str, prop: str) -> tuple[str, int]:
    row = rows_for(protocol, prop)[0]
    ex = explicit.explore(build(protocol_by_id(protocol), row.scenario))
    return to_dot(ex, property_by_id(prop)), ex.graph.number_of_nodes()


def test_every_state_and_edge_is_drawn_with_the_marks_of_the_dot_text() -> None:
    dot, states = _dot("wt-cache-first-set", "no-phantom")  # REFUTED: bad states, a counterexample
    title, nodes, edges = parse_dot(dot)
    assert len(nodes) == states and edges and title.startswith("wt-cache-first-set / no-phantom")
    root = ET.fromstring(draw_svg(dot))
    groups = [g for g in root.iter(f"{SVG}g")]
    drawn = [g for g in groups if "node" in g.get("class", "").split()]
    assert len(drawn) == states
    assert sum("bad" in g.get("class", "") for g in drawn) == sum(a.get("class") == "bad" for a in nodes.values()) > 0
    red = [p for p in root.iter(f"{SVG}path") if "counterexample" in p.get("class", "")]
    assert len(red) == sum(a.get("color") == "red" for _, _, a in edges) > 0
    labels = [t.text for g in drawn for t in g.iter(f"{SVG}text")]
    assert any("cache=v0, db=v0" in (t or "") for t in labels)


def test_a_large_graph_is_laid_out_in_layers_without_overlapping_states() -> None:
    dot, states = _dot("wt-versioned", "consistent-at-quiescence")
    assert states > 150
    root = ET.fromstring(draw_svg(dot))
    boxes = []
    for g in root.iter(f"{SVG}g"):
        if "node" in g.get("class", "").split():
            r = g.find(f"{SVG}rect")
            boxes.append(tuple(float(r.get(k)) for k in ("x", "y", "width", "height")))
    assert len(boxes) == states
    by_row: dict[float, list[tuple[float, float]]] = {}
    for x, y, w, h in boxes:
        by_row.setdefault(y + h / 2, []).append((x, x + w))
    for spans in by_row.values():  # states of one layer side by side, never on each other
        spans.sort()
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))


def test_without_graphviz_the_report_draws_with_the_built_in_layout(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if name == "dot" else which(name, *a, **k))
    monkeypatch.setattr(execute, "proof_pairs", lambda pairs: list(pairs))  # just this row
    rows, notes = execute.run_proofs([("wt-cache-first-set", "no-phantom")], tmp_path)
    (row,) = rows
    assert row.graph_svg and 'class="layered"' in row.graph_svg and "built-in layout" in row.graph_note
    assert (tmp_path / "wt-cache-first-set--no-phantom.svg").read_text() == row.graph_svg
    (line,) = notes
    assert "apt-get install" in line and "graphviz" in line.lower()
