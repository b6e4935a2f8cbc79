"""Counterexample timelines: a check's history drawn lane by lane, as text and as HTML/SVG.

    report = run_check("mycache:factory", "write-through", clients=2)
    print(render_text(report))              # terminal: one column per client and worker
    write_html(report, "cc-timeline.html")  # self-contained page with an inline SVG

The x-axis is the order of observation, not virtual time: the simulated clock stands still
during a concurrent batch, so time alone would stack every step on one spot. Each history
event and each store step gets one position; virtual time is shown as labels.
"""

from __future__ import annotations

import html
import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from attrs import frozen

from model.events import CacheObserved, Crash, DbObserved, Fail, Fault, Invoke, Ok, Tick

# The harness's own looks at the stores: folded together between the operations.
_OBSERVATIONS = (Tick, DbObserved, CacheObserved)

from conformance.histories.window import cut

__all__ = ["Slot", "Op", "Timeline", "build", "render_text", "render_html", "write_html"]

Step = tuple[int, str, str, str, "str | None"]


@frozen
class Slot:
    """One position on the x-axis.

    Attributes:
        x: the position (0, 1, ...).
        kind: "event" (one history event), "observe" (a run of harness clock and DB
            observations, folded into one position because they happen between operations),
            "step" (one store call of a lane), or "end" (the end-of-run checks).
        events: the history indexes shown here.
        step: the trace entry, for a step.
        time: virtual time, where an event gives it.
    """

    x: int
    kind: str
    events: tuple[int, ...] = ()
    step: Step | None = None
    time: float | None = None


@frozen
class Op:
    """One subject operation: a bar from its invocation to its response."""

    op: int
    lane: str
    kind: str
    key: str | None
    value: str | None
    start: int
    end: int | None  # None: no response was observed (crash, end of history)
    outcome: str  # "ok", "fail" or "open"
    result: str | None  # a read's value, or the error of a failed operation

    @property
    def call(self) -> str:
        return f"{self.kind}({', '.join(repr(a) for a in (self.key, self.value) if a is not None)})"

    @property
    def response(self) -> str:
        if self.outcome == "fail":
            return f"fail: {self.result}"
        if self.outcome == "open":
            return "no response"
        return f"-> {self.result!r}" if self.kind == "read" else "ok"

    @property
    def short_response(self) -> str:
        """The response with a failure cut to its error type (the full text goes in tooltips)."""
        if self.outcome == "fail" and self.result:
            return f"fail: {self.result.split(':', 1)[0]}"
        return self.response


@frozen
class Timeline:
    """The layout both renderings share."""

    lanes: tuple[str, ...]
    slots: tuple[Slot, ...]
    ops: tuple[Op, ...]
    history: tuple[Any, ...]
    violating_event: int | None  # history index of the event that broke the contract
    violating_op: int | None  # its operation, when the event belongs to one
    violating_slot: int | None  # x of the highlighted position
    # What was left out when a long history is drawn as a window around its violation.
    note: str | None = None


def build(report: Any) -> Timeline:
    """Lay out a `CheckReport`'s history and trace on one x-axis."""
    history = tuple(report.history)
    trace = tuple(report.trace)
    violation = report.verdict.violation
    window = cut(history, trace, violation)  # a long history: the violating key's window
    if window is not None:
        history, trace = window[0], window[1]
    bad = _find_event(history, violation.event if violation is not None else None)
    by_pos: dict[int, list[Step]] = {}
    for step in trace:
        # A step at position p ran between history[p-1] and history[p]: draw it before event p.
        by_pos.setdefault(min(step[0], len(history)), []).append(step)
    slots: list[Slot] = []
    folded: list[int] = []

    def close_fold() -> None:
        if folded:
            slots.append(Slot(len(slots), "observe", tuple(folded), time=history[folded[-1]].time))
            folded.clear()

    for i in range(len(history) + 1):
        if by_pos.get(i):
            close_fold()
            for step in by_pos[i]:
                slots.append(Slot(len(slots), "step", step=step))
        if i == len(history):
            break
        e = history[i]
        if isinstance(e, _OBSERVATIONS) and i != bad:
            folded.append(i)
            continue
        close_fold()
        slots.append(Slot(len(slots), "event", (i,), time=e.time))
    close_fold()
    if violation is not None and bad is None and slots:
        slots.append(Slot(len(slots), "end"))
    slot_of = {i: s.x for s in slots for i in s.events}
    ops: dict[int, Op] = {}
    first_seen: dict[str, int] = {}
    for s in slots:
        if s.step:
            first_seen.setdefault(s.step[1], s.x)
        for i in s.events:
            e = history[i]
            if isinstance(e, Invoke):
                first_seen.setdefault(e.client, s.x)
                ops[e.op] = Op(e.op, e.client, e.kind, e.key, e.value, s.x, None, "open", None)
            elif isinstance(e, (Ok, Fail)) and e.op in ops:
                o = ops[e.op]
                ops[e.op] = Op(o.op, o.lane, o.kind, o.key, o.value, o.start, s.x,
                               "ok" if isinstance(e, Ok) else "fail",
                               e.result if isinstance(e, Ok) else e.error)
    # Clients before workers, each in order of first appearance.
    lanes = tuple(sorted(first_seen, key=lambda n: (n.startswith("worker"), first_seen[n])))
    bad_op = getattr(history[bad], "op", None) if bad is not None else None
    bad_slot = slot_of.get(bad) if bad is not None else (slots[-1].x if violation is not None and slots else None)
    return Timeline(lanes, tuple(slots), tuple(ops.values()), history, bad, bad_op, bad_slot,
                    window[2] if window is not None else None)


def _find_event(history: Sequence[Any], event: Any) -> int | None:
    if event is None:
        return None
    for i, e in enumerate(history):
        if e is event:
            return i
    # Equal copies (e.g. two identical DB observations) are told apart only by identity;
    # without it, the last equal one is the likelier culprit, since earlier ones were explained.
    equal = [i for i, e in enumerate(history) if e == event]
    return equal[-1] if equal else None


def _describe(e: Any) -> str:
    if isinstance(e, Fault):
        return f"fault {e.kind}" + (f"({e.key!r})" if e.key is not None else "")
    if isinstance(e, Crash):
        return "crash (durable)" if e.durable else "crash"
    if isinstance(e, DbObserved):
        return f"db[{e.key!r}] == {e.value!r}"
    if isinstance(e, Tick):
        return f"clock -> {e.time:g}"
    if isinstance(e, CacheObserved):
        return f"cache[{e.key!r}] == {e.value!r}, db {e.db_value!r}"
    return repr(e)


def _observations(tl: Timeline, slot: Slot) -> str:
    """A folded run of observations, short: 'clock -> 3601; db k0='v2' k1=None'."""
    ticks = [tl.history[i] for i in slot.events if isinstance(tl.history[i], Tick)]
    seen = {tl.history[i].key: tl.history[i].value for i in slot.events
            if isinstance(tl.history[i], DbObserved)}
    cached = {tl.history[i].key: tl.history[i].value for i in slot.events
              if isinstance(tl.history[i], CacheObserved)}
    parts = [f"clock -> {ticks[-1].time:g}"] if ticks else []
    if seen:
        parts.append("db " + " ".join(f"{k}={v!r}" for k, v in seen.items()))
    if cached:
        parts.append("cache " + " ".join(f"{k}={v!r}" for k, v in cached.items()))
    return "; ".join(parts)


def _step_text(step: Step) -> str:
    return f"{step[2]}.{step[3]}" + (f"({step[4]!r})" if step[4] is not None else "()")


def _index_label(slot: Slot) -> str:
    if not slot.events:
        return ""
    a, b = slot.events[0], slot.events[-1]
    return f"{a}" if a == b else f"{a}-{b}"


# ---------------------------------------------------------------- text

def render_text(report: Any, *, color: bool = False, width: int = 30) -> str:
    """The timeline as a table: time runs downwards, one column per client and worker.

    Args:
        color: add ANSI colours (via rich); the plain text reads the same without them.
        width: the widest a lane column may grow.
    """
    tl = build(report)
    if not tl.slots:
        return "timeline: no history was recorded"
    ops_at: dict[tuple[str, int], tuple[str, Op]] = {}
    for o in tl.ops:
        ops_at[(o.lane, o.start)] = ("start", o)
        if o.end is not None:
            ops_at[(o.lane, o.end)] = ("end", o)
    open_at = {(o.lane, x) for o in tl.ops for x in range(o.start, (o.end if o.end is not None else len(tl.slots)))}
    rows: list[tuple[list[str], str, str | None]] = []  # cells, note, style
    for s in tl.slots:
        cells = []
        for lane in tl.lanes:
            hit = ops_at.get((lane, s.x))
            bad = hit is not None and hit[1].op == tl.violating_op
            bar = "┃" if any(o.op == tl.violating_op and o.lane == lane and o.start < s.x
                             and (o.end is None or s.x < o.end) for o in tl.ops) else "│"
            if hit and hit[0] == "start":
                cells.append(("┏ " if bad else "┌ ") + hit[1].call)
            elif hit:
                cells.append(("┗ " if bad else "└ ") + hit[1].short_response)
            elif s.step and s.step[1] == lane:
                cells.append(("├ " if (lane, s.x) in open_at else "• ") + _step_text(s.step))
            elif (lane, s.x) in open_at:
                cells.append(bar)
            else:
                cells.append("")
        note, style = "", None
        if s.kind == "event":
            e = tl.history[s.events[0]]
            if isinstance(e, (Fault, Crash)):
                note, style = _describe(e), "fault"
            elif not isinstance(e, (Invoke, Ok, Fail)):
                note = _describe(e)
        elif s.kind == "observe":
            note, style = _observations(tl, s), "dim"
        elif s.kind == "end":
            note = "end of run"
        if s.x == tl.violating_slot:
            v = report.verdict.violation
            note, style = (note + "  " if note else "") + f"<< VIOLATION: {v.clause}", "violation"
        rows.append((cells, note, style))
    widths = [min(width, max([len(lane)] + [len(r[0][j]) for r in rows])) for j, lane in enumerate(tl.lanes)]
    lines: list[tuple[str, str | None]] = [(f"({tl.note})", "dim")] if tl.note else []
    head = ["pos", "event", "time"] + [lane.ljust(w) for lane, w in zip(tl.lanes, widths)]
    lines.append(("{:>4} {:>7} {:>7}  ".format(*head[:3]) + "  ".join(head[3:]) + "  notes", "head"))
    span = sum(widths) + 2 * (len(widths) - 1)
    for s, (cells, note, style) in zip(tl.slots, rows):
        time = f"{s.time:g}" if s.time is not None and s.kind != "step" else ""
        lead = f"{s.x:>4} {_index_label(s):>7} {time:>7}  "
        if style == "fault":
            # A fault or crash concerns every lane at once: draw it across all of them.
            body = f" {note} ".center(span, "═")
            lines.append((lead + body, style))
            continue
        body = "  ".join(_fit(c, w).ljust(w) for c, w in zip(cells, widths))
        lines.append(((lead + body + ("  " + note if note else "")).rstrip(), style))
    lines += _violation_lines(report, tl)
    if not color:
        return "\n".join(text for text, _ in lines)
    return _colour(lines)


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _where(tl: Timeline) -> str:
    """Where the violation is: 'event 10 (c0 #4 read('k0') -> 'v3')' or 'the end of the run'."""
    if tl.violating_event is None:
        return "the end of the run"
    op = next((o for o in tl.ops if o.op == tl.violating_op), None)
    what = f"{op.lane} #{op.op} {op.call} {op.response}" if op else _describe(tl.history[tl.violating_event])
    return f"event {tl.violating_event} ({what})"


def _violation_lines(report: Any, tl: Timeline) -> list[tuple[str, str | None]]:
    v = report.verdict.violation
    if v is None:
        return [("", None), (f"{report.verdict.status}: no violation to show (the last example run is drawn)", None)]
    key = f" on key {v.key!r}" if v.key is not None else ""
    lines = [("", None), (f"VIOLATION of {v.clause}{key} at {_where(tl)}", "violation"),
             (f"  expected: {v.expected}", None), (f"  observed: {v.observed}", "violation")]
    place = v.place
    if place is not None:  # a subject's exception: where in its code, and where it was raised
        lines.append((f"  subject code: {place.subject}", None))
        if place.raised is not None:
            lines.append((f"  raised in: {place.raised}", None))
    return lines


def _place_rows(v: Any, e: Callable[[str], str]) -> list[str]:
    """The subject's exception's place (model.ErrorPlace), as definition-list rows."""
    place = v.place
    if place is None:
        return []
    rows = [f'<dt>subject code</dt><dd class="place">{e(str(place.subject))}</dd>']
    if place.raised is not None:
        rows.append(f'<dt>raised in</dt><dd class="place">{e(str(place.raised))}</dd>')
    return rows


def _colour(lines: list[tuple[str, str | None]]) -> str:
    from rich.console import Console  # only when colour is asked for
    from rich.text import Text

    styles = {"head": "bold", "fault": "bold yellow", "violation": "bold red", "dim": "dim"}
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, color_system="standard", width=10_000, soft_wrap=True)
    for text, style in lines:
        console.print(Text(text, style=styles.get(style or "", "")), highlight=False)
    return out.getvalue().rstrip("\n")


# ---------------------------------------------------------------- HTML

SLOT_W = 52
LEFT = 120
TOP = 72
LANE_H = 92
OBS_H = 48

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em}h1 .status-VIOLATES{color:#b00020}h1 .status-CONFORMS{color:#1b7f3b}
h1 .status-UNKNOWN{color:#a66b00}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em}dt{font-weight:600}
dd{margin:0;font-family:ui-monospace,monospace}dd.observed{color:#b00020}
.scroll{overflow-x:auto;border:1px solid #ddd;background:#fff}
pre{background:#f6f6f6;padding:1em;overflow-x:auto}
.legend span{display:inline-block;margin-right:1.2em}
.sw{display:inline-block;width:1.6em;height:.8em;vertical-align:middle;margin-right:.3em}
.sw.tick{width:3px;height:1.1em}.sw.dot{width:.6em;height:.6em;border-radius:50%;background:#999}
svg text{font:11px ui-monospace,monospace;fill:#222}
.scroll.windowed{direction:rtl}.scroll.windowed svg{direction:ltr}
svg text.observe-label{font-size:9px;fill:#1f4fa0}
svg .axis text{font-size:9px;fill:#666}svg .lane-name{font-weight:600;font-size:12px}
svg .lane-bg{fill:#fafafa;stroke:#eee}
rect.op{fill:#cfe3ff;stroke:#3b6fb6;rx:3}rect.op.read{fill:#d9f2d9;stroke:#3a8a3a}
rect.op.flush{fill:#eee0ff;stroke:#7a4fb0}rect.op.fail{fill:#ffe1c4;stroke:#c26a00;stroke-dasharray:4 2}
rect.op.open{stroke-dasharray:2 2}
rect.op.violation{fill:#ffc9cf;stroke:#b00020;stroke-width:3}
line.step{stroke-width:3;stroke:#555}line.step.db{stroke:#1f4fa0}line.step.cache{stroke:#d9730d}
text.step-label{font-size:9px;fill:#555}
g.fault line{stroke:#b8860b;stroke-width:2;stroke-dasharray:6 3}g.fault text{fill:#8a6400;font-weight:600}
g.fault.crash line{stroke:#000;stroke-width:3}g.fault.crash text{fill:#000}
circle.observe{fill:#999}circle.observe.violation{fill:#b00020;r:6}
g.end.violation line{stroke:#b00020;stroke-width:3}
text.violation-label{fill:#b00020;font-weight:700}
"""


def _x(x: int) -> float:
    return LEFT + x * SLOT_W + SLOT_W / 2


def _text_width(text: str, size: float) -> float:
    """A generous estimate of `text`'s width in a monospace font of `size` px (0.6 em per
    character in DejaVu/Liberation Mono; symbols may come from a wider fallback font)."""
    return sum(size * (0.64 if ord(ch) < 0x2000 else 1.1) for ch in text)


class _Labels:
    """Places the timeline's text labels so that no two overlap and none leaves the picture.

    Every label is a box of estimated size in picture coordinates. A label that does not
    fit where it is anchored is cut to the room there, ending in "…", with its full text
    in a `<title>` tooltip; a label with no room for three characters is left out (its
    shape keeps the tooltip).
    """

    def __init__(self, width: float) -> None:
        self.width = width
        self.boxes: list[tuple[float, float, float, float]] = []

    def reserve(self, x0: float, x1: float, y: float, size: float) -> None:
        self.boxes.append((x0, x1, y - 0.95 * size, y + 0.25 * size))

    def _room(self, x: float, anchor: str, y0: float, y1: float) -> tuple[float, float]:
        """The free interval (left, right) around `x` on the band y0..y1."""
        left, right = 0.0, self.width
        for bx0, bx1, by0, by1 in self.boxes:
            if by0 >= y1 or y0 >= by1:
                continue
            if bx1 <= x + (0.5 if anchor == "end" else 0):
                left = max(left, bx1)
            elif bx0 >= x - (0.5 if anchor == "start" else 0):
                right = min(right, bx0)
            else:  # a box over the anchor itself: no room
                return x, x
        return left, right

    def fit(self, x: float, y: float, size: float, anchor: str, *texts: str) -> tuple[str, float, float] | None:
        """The first of `texts` that fits at (x, y) whole, else the last one cut to the room;
        returns (text, x0, x1) and reserves its box, or None when nothing fits."""
        y0, y1 = y - 0.95 * size, y + 0.25 * size
        left, right = self._room(x, anchor, y0, y1)
        pad = 3.0
        if anchor == "start":
            room = right - x - pad
        elif anchor == "end":
            room = x - left - pad
        else:
            room = 2 * min(x - left, right - x) - 2 * pad
        shown = next((t for t in texts if _text_width(t, size) <= room), None)
        if shown is None:
            last = texts[-1]
            n = len(last)
            while n > 0 and _text_width(last[:n] + "…", size) > room:
                n -= 1
            if n < 3:
                return None
            shown = last[:n].rstrip() + "…"
        w = _text_width(shown, size)
        x0 = x if anchor == "start" else x - w if anchor == "end" else x - w / 2
        self.boxes.append((x0, x0 + w, y0, y1))
        return shown, x0, x0 + w

    def place(self, x: float, ys: tuple[float, ...], size: float, anchor: str, texts: tuple[str, ...], *,
              cls: str = "", dy: float = 0, full: str | None = None) -> tuple[str, float]:
        """`text` on the first of the rows `ys` where one of `texts` fits whole, else on the
        row with the most room; returns the element and the row chosen."""
        def room(y: float) -> float:
            left, right = self._room(x, anchor, y + dy - 0.95 * size, y + dy + 0.25 * size)
            return right - x if anchor == "start" else x - left if anchor == "end" else 2 * min(x - left, right - x)
        need = min(_text_width(t, size) for t in texts) + 6
        y = next((y for y in ys if room(y) >= need), max(ys, key=room))
        return self.text(x, y, size, anchor, texts, cls=cls, dy=dy, full=full), y

    def text(self, x: float, y: float, size: float, anchor: str, texts: tuple[str, ...], *,
             cls: str = "", dy: float = 0, full: str | None = None) -> str:
        """A `<text>` element (empty string when nothing fits); `dy` is the group's offset."""
        placed = self.fit(x, y + dy, size, anchor, *texts)
        if placed is None:
            return ""
        shown = placed[0]
        whole = full if full is not None else texts[0]
        tip = f"<title>{html.escape(whole)}</title>" if shown != whole else ""
        attrs = f' class="{cls}"' if cls else ""
        anchor_attr = "" if anchor == "start" else f' text-anchor="{anchor}"'
        return f'<text{attrs} x="{x:.1f}" y="{y:.0f}"{anchor_attr}>{tip}{html.escape(shown)}</text>'


def _svg(report: Any, tl: Timeline) -> str:
    e = html.escape
    n = max(len(tl.slots), 1)
    width = LEFT + n * SLOT_W + 160  # room for the last response label
    lanes_bottom = TOP + len(tl.lanes) * LANE_H
    height = lanes_bottom + OBS_H
    labels = _Labels(width)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" id="timeline" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}">']
    # Names first (lanes, rows): every other label makes room for them.
    lane_names = [*tl.lanes, "observed"]
    for j, lane in enumerate(lane_names):
        y = TOP + j * LANE_H + (LANE_H / 2 if lane in tl.lanes else 22)
        name = _fit(lane, int((LEFT - 16) / 8.4))
        labels.reserve(8, 8 + 8.4 * len(name), y, 12)
        if tl.note:
            labels.reserve(width - 8 - 8.4 * len(name), width - 8, y, 12)
    # Axis: history index of every event position, virtual time where it changes.
    out.append('<g class="axis"><text x="4" y="12">event</text><text x="4" y="25">time</text>')
    labels.reserve(4, 4 + _text_width("event", 9), 12, 9)
    labels.reserve(4, 4 + _text_width("time", 9), 25, 9)
    last_time = None
    for s in tl.slots:
        if s.events:
            out.append(labels.text(_x(s.x), 12, 9, "middle", (f"#{_index_label(s)}",)))
        if s.time is not None and s.time != last_time:
            out.append(labels.text(_x(s.x), 25, 9, "middle", (f"t={s.time:g}",)))
            last_time = s.time
    out.append("</g>")
    # Faults and the end of the run: marks across every lane, labelled above the first.
    faults: list[str] = []
    for s in tl.slots:
        if s.kind != "event":
            continue
        ev = tl.history[s.events[0]]
        if isinstance(ev, (Fault, Crash)):
            x = _x(s.x)
            described = _describe(ev)
            text, ty = labels.place(x + 4, (TOP - 4, TOP - 18, TOP - 32), 11, "start",
                                    (described.removeprefix("fault "),), full=described)
            cls = "fault crash" if isinstance(ev, Crash) else "fault"
            kind = "crash" if isinstance(ev, Crash) else ev.kind
            bad = " violation" if s.x == tl.violating_slot else ""
            faults.append(f'<g class="{cls}{bad}" data-kind="{e(kind)}"><title>{e(described)}</title>'
                          f'<line x1="{x:.0f}" x2="{x:.0f}" y1="{ty - 10}" y2="{lanes_bottom}"/>{text}</g>')
    if tl.slots and tl.slots[-1].kind == "end":
        x = _x(tl.slots[-1].x)
        text, _ = labels.place(x - 4, (TOP - 4, TOP - 18, TOP - 32), 11, "end", ("end of run ✗", "end ✗"),
                               cls="violation-label")
        faults.append(f'<g class="end violation"><line x1="{x:.0f}" x2="{x:.0f}" y1="{TOP - 14}" '
                      f'y2="{lanes_bottom}"/>{text}</g>')
    for j, lane in enumerate(tl.lanes):
        y = TOP + j * LANE_H
        out.append(f'<g class="lane" data-lane="{e(lane)}" transform="translate(0,{y})">')
        out.append(f'<rect class="lane-bg" x="0" y="0" width="{width}" height="{LANE_H - 4}"/>')
        name = _fit(lane, int((LEFT - 16) / 8.4))
        out.append(f'<text class="lane-name" x="8" y="{LANE_H / 2:.0f}">{e(name)}</text>')
        if tl.note:  # a window opens at its right end: name the lane there too
            out.append(f'<text class="lane-name" x="{width - 8}" y="{LANE_H / 2:.0f}" text-anchor="end">{e(name)}</text>')
        mine = [o for o in tl.ops if o.lane == lane]
        starts = sorted(_x(o.start) - 8 for o in mine)
        # The violating operation's label first: it is the one that must be read.
        mine.sort(key=lambda o: o.op != tl.violating_op)
        texts: list[str] = []
        for o in mine:
            x0 = _x(o.start) - 8
            x1 = _x(o.end) + 8 if o.end is not None else LEFT + n * SLOT_W
            cls = f"op {o.kind} {o.outcome}" + (" violation" if o.op == tl.violating_op else "")
            tip = f"#{o.op} {o.call} {o.response}"
            out.append(f'<rect class="{cls}" data-op="{o.op}" x="{x0:.0f}" y="20" width="{x1 - x0:.0f}" '
                       f'height="22"><title>{e(tip)}</title></rect>')
            # A call's label ends where the lane's next operation starts (the full call is in the tooltip).
            room = next((x for x in starts if x > x0), None)
            call = o.call if room is None else _fit(o.call, max(3, int((room - x0 - 4) / _text_width("m", 11))))
            texts.append(labels.text(x0, 14, 11, "start", (call,), cls="op-call", dy=y, full=o.call))
            if o.op == tl.violating_op:
                options = (o.response + "  ✗ violation", o.short_response + "  ✗ violation", "✗ " + o.short_response)
                texts.append(labels.text(x1, 80, 11, "end", options, cls="op-response violation-label", dy=y,
                                         full=o.response + "  ✗ violation"))
            else:
                texts.append(labels.text(x1, 80, 11, "end", (o.response, o.short_response), cls="op-response",
                                         dy=y))
        for s in tl.slots:
            if s.step and s.step[1] == lane:
                _, _, store, call, _key = s.step
                out.append(f'<line class="step {e(store)}" data-store="{e(store)}" data-call="{e(call)}" '
                           f'x1="{_x(s.x):.0f}" x2="{_x(s.x):.0f}" y1="16" y2="46">'
                           f'<title>{e(_step_text(s.step))}</title></line>')
                text, _ = labels.place(_x(s.x), (56, 67), 9, "middle", (f"{store}.{call}",), cls="step-label",
                                       dy=y, full=_step_text(s.step))
                texts.append(text)
        out += [t for t in texts if t]
        out.append("</g>")
    # Harness observations (DB reads, clock) get a row of their own under the lanes.
    out.append(f'<g class="observations" transform="translate(0,{lanes_bottom})">'
               f'<text class="lane-name" x="8" y="22">observed</text>')
    if tl.note:
        out.append(f'<text class="lane-name" x="{width - 8}" y="22" text-anchor="end">observed</text>')
    observed = [s for s in tl.slots
                if s.kind == "observe" or (s.kind == "event" and isinstance(tl.history[s.events[0]], _OBSERVATIONS))]
    observed.sort(key=lambda s: not (s.x == tl.violating_slot and tl.violating_op is None))
    for s in observed:
        bad = s.x == tl.violating_slot and tl.violating_op is None
        tip = _observations(tl, s) if s.kind == "observe" else _describe(tl.history[s.events[0]])
        out.append(f'<circle class="observe{" violation" if bad else ""}" cx="{_x(s.x):.0f}" cy="18" r="4">'
                   f'<title>{e(tip)}</title></circle>')
        if bad:
            out.append(labels.text(_x(s.x) + 8, 34, 11, "start", (f"{tip} ✗",), cls="violation-label",
                                   dy=lanes_bottom))
        elif "db " in tip:  # what the DB held, under the dot (two rows: they are wide)
            held = tip.split("db ", 1)[1]
            text, _ = labels.place(_x(s.x), (31, 42), 9, "middle", (_fit(held, 18),), cls="observe-label",
                                   dy=lanes_bottom, full=tip)
            out.append(text)
    out.append("</g>")
    out += faults
    out.append("</svg>")
    return "\n".join(x for x in out if x)


def render_html(report: Any) -> str:
    """A self-contained HTML page (inline CSS and SVG, no external assets) showing the verdict,
    the timeline, the runnable counterexample and the raw history.

    Stable hooks for tests and tools: `svg#timeline`, `g.lane[data-lane="c0"]`, `rect.op`
    (`data-op`, kind and outcome classes), `line.step` (`data-store`, `data-call`),
    `g.fault[data-kind]`, `.violation`, `dd.expected`, `dd.observed`, `pre#counterexample`.
    """
    e = html.escape
    tl = build(report)
    v = report.verdict.violation
    status = report.verdict.status
    title = f"{status}{' ' + v.clause if v else ''}: {report.target} as {report.policy}"
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>{e(title)}</title><style>{_CSS}</style></head><body>",
             f'<h1><span class="status-{e(status)}">{e(status)}</span>: {e(report.target)} as {e(report.policy)}</h1>',
             f'<p class="stats">{report.examples} examples, {report.steps} steps, '
             f'{report.seconds:.2f} s, seed {e(str(report.seed))}</p>' if report.examples else
             f'<p class="stats">{report.seconds:.2f} s</p>']  # no examples: a recorded history, checked
    if v is not None:
        at = _where(tl)
        parts += ['<section id="verdict">', f"<h2>Clause broken: {e(v.clause)} — {e(v.title)}</h2>", "<dl>",
                  f'<dt>where</dt><dd class="at">{e(at)}</dd>',
                  f'<dt>key</dt><dd class="key">{e(repr(v.key))}</dd>' if v.key is not None else "",
                  f'<dt>expected</dt><dd class="expected">{e(v.expected)}</dd>',
                  f'<dt>observed</dt><dd class="observed">{e(v.observed)}</dd>', *_place_rows(v, e),
                  "</dl></section>"]
    elif report.verdict.reason:
        parts.append(f'<p class="reason">{e(report.verdict.reason)}</p>')
    if report.note:
        parts.append(f'<p class="note">note: {e(report.note)}</p>')
    parts += ['<section id="timeline-section"><h2>Timeline</h2>',
              '<p class="legend">x-axis: order of observation (event index, virtual time above). '
              '<span><i class="sw" style="background:#cfe3ff;border:1px solid #3b6fb6"></i>write</span>'
              '<span><i class="sw" style="background:#d9f2d9;border:1px solid #3a8a3a"></i>read</span>'
              '<span><i class="sw" style="background:#eee0ff;border:1px solid #7a4fb0"></i>flush</span>'
              '<span><i class="sw" style="background:#ffe1c4;border:1px dashed #c26a00"></i>failed</span>'
              '<span><i class="sw" style="background:#ffc9cf;border:2px solid #b00020"></i>violation</span>'
              '<span><i class="sw tick" style="background:#1f4fa0"></i>db step</span>'
              '<span><i class="sw tick" style="background:#d9730d"></i>cache step</span>'
              '<span><i class="sw tick" style="border-left:2px dashed #b8860b"></i>fault</span>'
              '<span><i class="sw dot"></i>DB read / clock by the harness (hover for values)</span></p>']
    if tl.note:
        parts.append(f'<p class="window">{e(tl.note)}</p>')
    # A window opens scrolled to its right end, where the violation is (no script: direction).
    parts.append(f'<div class="scroll{" windowed" if tl.note else ""}">{_svg(report, tl)}</div></section>' if tl.slots
                 else '<p class="empty">No history was recorded.</p></section>')
    if report.counterexample:
        heading = "Counterexample (runnable)" if report.examples else "Counterexample (failing sub-history, JSON Lines)"
        parts += [f'<section id="counterexample-section"><h2>{heading}</h2>',
                  f'<pre id="counterexample">{e(report.counterexample)}</pre></section>']
    parts += ['<section id="history-section"><h2>History</h2><ol id="history" start="0">']
    for i, ev in enumerate(tl.history):
        cls = ' class="violation-event"' if i == tl.violating_event else ""
        parts.append(f"<li{cls}>{e(repr(ev))}</li>")
    parts += ["</ol></section>", "</body></html>"]
    return "\n".join(p for p in parts if p)


def write_html(report: Any, path: str | Path) -> Path:
    """Write `render_html(report)` to `path` (UTF-8) and return the path."""
    p = Path(path)
    p.write_text(render_html(report), encoding="utf-8")
    return p
