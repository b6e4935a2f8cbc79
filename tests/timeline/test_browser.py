"""The page as Chromium renders it: the elements exist in the live DOM and the violation is
painted. Uses Debian's chromium (`apt-get install -y chromium`); installs nothing."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from conformance.timeline import render_html, write_html
from tests.timeline.dom import parse

pytestmark = pytest.mark.browser  # not serial: Chromium loads the cores, but nothing here is timed (120 s limits)

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed: run `apt-get install -y chromium`")
VIOLATION_FILL = (0xFF, 0xC9, 0xCF)  # rect.op.violation in the page's CSS
WRITE_FILL = (0xCF, 0xE3, 0xFF)  # rect.op.write


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # A profile of its own, so parallel runs do not share a lock.
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}",
           *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)


def _pixels(png: bytes) -> set[tuple[int, int, int]]:
    """The colours of an 8-bit RGB/RGBA, non-interlaced PNG (what Chromium writes)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, head = 8, b"", None
    while pos < len(png):
        (n,), kind = struct.unpack(">I", png[pos:pos + 4]), png[pos + 4:pos + 8]
        data = png[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            head = struct.unpack(">IIBBBBB", data)
        elif kind == b"IDAT":
            idat += data
        pos += 12 + n
    width, height, depth, ctype, _, _, interlace = head
    assert depth == 8 and ctype in (2, 6) and interlace == 0, head
    bpp = 3 if ctype == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    prev, colours = bytearray(stride), set()
    for y in range(height):
        f, row = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = row[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                row[i] = (row[i] + a) & 255
            elif f == 2:
                row[i] = (row[i] + b) & 255
            elif f == 3:
                row[i] = (row[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                row[i] = (row[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        colours.update(tuple(row[i:i + 3]) for i in range(0, stride, bpp))
        prev = row
    return colours


@needs_chromium
def test_chromium_renders_lanes_bars_and_the_violation(tmp_path, racy_report):
    page = write_html(racy_report, tmp_path / "timeline.html")
    dom = parse(_chromium(tmp_path, "--dump-dom", page.resolve().as_uri()).stdout)
    assert {g.attrs["data-lane"] for g in dom.select("g", "lane")} == {"c0", "c1"}
    assert len(dom.select("rect", "op")) == 4
    (bad,) = dom.select("rect", "op violation")
    assert bad.ancestor("g").attrs["data-lane"] == "c0"
    assert dom.select("line", "step") and dom.select("dd", "observed")[0].text == "'v2'"
    assert "run.concurrent(" in dom.select("pre", id="counterexample")[0].text


@needs_chromium
def test_chromium_screenshot_paints_the_violation(tmp_path, racy_report):
    page = write_html(racy_report, tmp_path / "timeline.html")
    shot = tmp_path / "timeline.png"
    _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,720", "--hide-scrollbars",
              page.resolve().as_uri())
    colours = _pixels(shot.read_bytes())
    assert VIOLATION_FILL in colours and WRITE_FILL in colours


# Collects, in the live page, every label of every SVG that overlaps another or starts left
# of its SVG (bounding boxes as Chromium lays them out), into <pre id="label-problems">.
_LABEL_PROBE = """<script>
window.addEventListener('load', () => {
  const problems = [];
  let count = 0;
  for (const svg of document.querySelectorAll('svg')) {
    const edge = svg.getBoundingClientRect();
    const boxes = [...svg.querySelectorAll('text')].filter(t => t.textContent.trim()).map(t => {
      const b = t.getBoundingClientRect();
      return {text: t.textContent, x0: b.left - edge.left, x1: b.right - edge.left, y0: b.top, y1: b.bottom,
              bbox: t.getBBox()};
    });
    count += boxes.length;
    for (const b of boxes) {
      if (b.x0 < 0 || b.bbox.x < 0) problems.push(['left of the edge', b.text, b.x0]);
    }
    for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i], c = boxes[j];
      if (a.x0 < c.x1 && c.x0 < a.x1 && a.y0 < c.y1 && c.y0 < a.y1) problems.push(['overlap', a.text, c.text]);
    }
  }
  const pre = document.createElement('pre');
  pre.id = 'label-problems';
  pre.dataset.labels = count;
  pre.textContent = JSON.stringify(problems);
  document.body.appendChild(pre);
});
</script>"""


def label_problems(tmp_path: Path, page: str) -> tuple[int, list[list[object]]]:
    """(labels measured, problems) of `page` as Chromium lays it out."""
    import json

    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", _LABEL_PROBE + "</body>"), encoding="utf-8")
    dom = parse(_chromium(tmp_path, "--dump-dom", probe.resolve().as_uri()).stdout)
    (pre,) = dom.select("pre", id="label-problems")
    return int(pre.attrs["data-labels"]), json.loads(pre.text)


@needs_chromium
def test_long_failure_labels_neither_overlap_nor_leave_the_picture(tmp_path, failing_report):
    page = render_html(failing_report)
    count, problems = label_problems(tmp_path, page)
    assert count > 20 and problems == []
    # The long errors are cut to the room there is, and whole in their tooltips.
    doc = parse(page)
    cut = [t for t in doc.select("text", "op-response") if t.text.endswith("…") or "StoreTimeout" in t.text]
    assert cut and all(t.children and t.children[0].tag == "title" and "injected fault" in t.children[0].text
                       for t in cut)


@needs_chromium
def test_labels_of_a_concurrent_violation_neither_overlap_nor_leave_the_picture(tmp_path, racy_report):
    count, problems = label_problems(tmp_path, render_html(racy_report))
    assert count > 10 and problems == []
