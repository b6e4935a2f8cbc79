"""The page as Chromium renders it: the elements exist in the live DOM and the violation is
painted. Uses Debian's chromium (`apt-get install -y chromium`); installs nothing."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from conformance.timeline import write_html
from tests.timeline.dom import parse

pytestmark = [pytest.mark.browser, pytest.mark.serial]  # Chromium loads every core

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
