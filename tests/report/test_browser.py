"""report.html as headless Chromium renders it: the tables exist in the live DOM."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from cache_conformance.claims import load_register

pytestmark = pytest.mark.browser  # not serial: Chromium loads the cores, but nothing here is timed (120 s limits)

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed: apt-get install -y chromium")
def test_the_report_opens_in_chromium_and_shows_its_tables(small_report: tuple[Path, int, str], tmp_path: Path) -> None:
    page = small_report[0] / "report.html"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}",
           "--dump-dom", page.as_uri()]
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stdout
    for table in ("summary", "proofs", "builtins", "mutants", "seeds", "claims"):
        assert re.search(rf'<table id="{table}">.*?<tbody>\s*<tr', dom, re.S), table
    assert len(re.findall(r"<tr data-claim=", dom)) == len(load_register())
    assert "<svg" in dom[dom.index('id="counterexamples"'):]


# Run in the page after its own script: zoom the first state graph in, then fit it to its box,
# and measure every timeline label; the results land in <pre id="probe">.
_PROBE = """<script>
window.addEventListener('load', () => {
  const box = document.querySelector('div.zoom'), svg = box.querySelector('svg'), view = box.querySelector('.zoom-view');
  box.closest('details').open = true;
  const w0 = svg.getBoundingClientRect().width;
  box.querySelector('[data-zoom="in"]').click();
  const w1 = svg.getBoundingClientRect().width;
  box.querySelector('[data-zoom="fit"]').click();
  const w2 = svg.getBoundingClientRect().width;
  const bad = [];
  for (const tl of document.querySelectorAll('#counterexamples svg')) {
    const edge = tl.getBoundingClientRect();
    const boxes = [...tl.querySelectorAll('text')].map(t => t.getBoundingClientRect());
    boxes.forEach((b, i) => {
      if (b.left < edge.left) bad.push('left');
      boxes.slice(i + 1).forEach(c => {
        if (b.left < c.right && c.left < b.right && b.top < c.bottom && c.top < b.bottom) bad.push('overlap');
      });
    });
  }
  const pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify({w0, w1, w2, view: view.clientWidth, level: box.querySelector('.level').textContent,
                                    bad});
  document.body.appendChild(pre);
});
</script>"""


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed: apt-get install -y chromium")
def test_state_graphs_zoom_and_timeline_labels_stay_apart(small_report: tuple[Path, int, str], tmp_path: Path) -> None:
    import json

    page = tmp_path / "report.html"  # alone, away from its directory
    page.write_text((small_report[0] / "report.html").read_text().replace("</body>", _PROBE + "</body>"))
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}",
           "--dump-dom", page.as_uri()]
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stdout
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    probe = json.loads(found.group(1).replace("&quot;", '"'))
    assert probe["w1"] == pytest.approx(probe["w0"] * 1.25, rel=0.02)  # "+" zooms in
    assert probe["w2"] <= probe["view"] and probe["level"].endswith("%")  # "fit" fits the box
    assert probe["bad"] == []
