"""The cost of checking a subject through the subject protocol (`check --exec`), measured
in one run against the same algorithm as a Python subject, so the ratio holds on a
shared, noisy machine:

* steps/s of `check` on the Node write-through (clients/node/examples/write_through.js,
  through --exec) and on the Python write-through it ports
  (implementations.memory:write_through), the same seed and budget, in interleaved rounds
  (a figure: the median of its rounds); the target is a ratio of at least 0.3;
* where the Node check's time goes: waiting for processes to start (a crash restarts the
  subject's process: the fault model crashes often), inside operations (the round trips of
  store requests through the pipe and the subject's own work), and the rest (Hypothesis,
  the oracle, the harness's own steps), with the processes' CPU beside the harness's;
* the floor of one round trip: a bare echo through the same kind of pipe to Node;
* the same Node check with its process killed on every crash (`kill_on_crash`), although
  it declares `crash_by_reset`: what a Node start per crash costs;
* when Go is installed, the same check on the Go write-through
  (clients/go/examples/write_through, built with clients/go/run): the same protocol and
  algorithm from a process that starts in milliseconds, which shows how much of the Node
  figure is Node's start.

Run:  python benchmarks/exec_subject.py [--quick]   (--quick: one round of 100 examples)
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from conformance import run_check
from conformance.exec import exec_factory

ROOT = Path(__file__).resolve().parents[1]
NODE = "node clients/node/examples/write_through.js"
PYTHON = "implementations.memory:write_through"

_ECHO = r"""
const fs = require('fs'); let buf = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', c => { buf += c; let i;
  while ((i = buf.indexOf('\n')) >= 0) { const m = JSON.parse(buf.slice(0, i)); buf = buf.slice(i + 1);
    fs.writeSync(1, JSON.stringify({type: 'call', id: m.id, task: 't1', target: 'cache.get', args: {key: 'k0'}}) + '\n'); } });
"""


def echo_round_trip(n: int = 3000) -> float:
    """Seconds per round trip of a JSON line to a bare Node echo and back (the floor)."""
    p = subprocess.Popen(["node", "-e", _ECHO], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
    assert p.stdin is not None and p.stdout is not None
    i, o = p.stdin.fileno(), p.stdout.fileno()

    def trips(count: int) -> None:
        for k in range(count):
            os.write(i, (json.dumps({"type": "result", "id": k, "value": None}) + "\n").encode())
            os.read(o, 65536)

    trips(200)
    t = time.perf_counter()
    trips(n)
    elapsed = time.perf_counter() - t
    p.kill()
    p.wait()
    return elapsed / n


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def check_python(examples: int) -> tuple[float, int]:
    report = run_check(PYTHON, policy="write-through", examples=examples)
    assert report.verdict.status == "CONFORMS", report.render()
    return report.seconds, report.steps


def go_command() -> str | None:
    """The built Go write-through, or None without Go."""
    if shutil.which("go") is None:
        return None
    p = subprocess.run([str(ROOT / "clients" / "go" / "run"), "--build", "write_through"],
                       capture_output=True, text=True, timeout=600)
    return p.stdout.strip() if p.returncode == 0 else None


def check_node(examples: int, command: str = NODE, kill_on_crash: bool = False) -> tuple[float, int, dict[str, float]]:
    with exec_factory(command, kill_on_crash=kill_on_crash) as factory:
        cpu = children_cpu(), time.process_time()
        report = run_check(factory, policy="write-through", examples=examples, op_timeout=10)
        assert report.verdict.status == "CONFORMS", report.render()
        stats = factory.stats()
    time.sleep(0.3)  # let the reaper collect the last processes, so their CPU is counted
    stats["subject_cpu"] = children_cpu() - cpu[0]
    stats["harness_cpu"] = time.process_time() - cpu[1]
    return report.seconds, report.steps, stats


def main(argv: list[str]) -> int:
    if shutil.which("node") is None:
        print("node is not installed: apt-get install -y nodejs")
        return 2
    os.chdir(ROOT)
    quick = "--quick" in argv
    rounds, examples = (1, 100) if quick else (3, 500)
    print(f"== check --exec: the Node write-through against the Python one it ports ({examples} examples, "
          f"default steps and seed, {rounds} interleaved rounds; a figure is the median) ==")
    go = go_command()
    py_rates: list[float] = []
    node_rates: list[float] = []
    killed_rates: list[float] = []
    go_rates: list[float] = []
    breakdowns: list[tuple[float, dict[str, float]]] = []
    for round_ in range(1, rounds + 1):
        py_seconds, py_steps = check_python(examples)
        node_seconds, node_steps, stats = check_node(examples)
        py_rates.append(py_steps / py_seconds)
        node_rates.append(node_steps / node_seconds)
        breakdowns.append((node_seconds, stats))
        k_seconds, k_steps, _ = check_node(examples, kill_on_crash=True)
        killed_rates.append(k_steps / k_seconds)
        also = f"   node, killed on crash {killed_rates[-1]:7.0f} steps/s ({killed_rates[-1] / py_rates[-1]:.2f})"
        if go is not None:
            go_seconds, go_steps, _ = check_node(examples, go)
            go_rates.append(go_steps / go_seconds)
            also += f"   go --exec {go_rates[-1]:7.0f} steps/s ({go_rates[-1] / py_rates[-1]:.2f})"
        print(f"round {round_}: python {py_rates[-1]:7.0f} steps/s   node --exec {node_rates[-1]:7.0f} steps/s   "
              f"ratio {node_rates[-1] / py_rates[-1]:.2f}{also}")
    py, node = statistics.median(py_rates), statistics.median(node_rates)
    ratio = node / py
    print(f"median: python {py:.0f} steps/s, node --exec {node:.0f} steps/s: ratio {ratio:.2f} "
          f"(target >= 0.30: {'met' if ratio >= 0.3 else 'MISSED'}; crashes are resets in the process, as the "
          "subject declares crash_by_reset, the same crash a Python subject gets)")
    killed = statistics.median(killed_rates)
    print(f"        node --exec, its process killed on every crash (kill_on_crash): {killed:.0f} steps/s: ratio "
          f"{killed / py:.2f} (a Node start per crash)")
    if go_rates:
        print(f"        go --exec {statistics.median(go_rates):.0f} steps/s: ratio "
              f"{statistics.median(go_rates) / py:.2f} (the same protocol; a Go process starts in milliseconds)")
    else:
        print("        (the Go comparison skipped: go is not installed)")
    seconds, s = sorted(breakdowns, key=lambda b: b[0])[len(breakdowns) // 2]
    ops = s["operation_seconds"]
    rest = seconds - s["waited"] - ops
    print()
    print(f"== where the Node check's time goes (the median round: {seconds:.2f} s) ==")
    print(f"processes started: {s['starts']:.0f} (the first, a spare, and one per crash in the middle of an "
          f"operation); crashes recovered by a reset in the process: {s['crash_resets']:.0f}")
    print(f"  waiting for a started process:  {s['waited']:6.2f} s ({s['waited'] / seconds:4.0%})")
    print(f"  inside operations:              {ops:6.2f} s ({ops / seconds:4.0%}): {s['operations']:.0f} operations, "
          f"{s['requests']:.0f} store requests, {ops / max(1, s['requests'] + s['operations']) * 1e6:.0f} us per "
          "round trip (request or operation)")
    print(f"  the rest (Hypothesis, oracle):  {rest:6.2f} s ({rest / seconds:4.0%})")
    print(f"CPU: the harness {s['harness_cpu']:.2f} s, the subject processes {s['subject_cpu']:.2f} s "
          f"({s['starts']:.0f} processes: their starts and their work)")
    floor = echo_round_trip()
    print(f"floor: a bare JSON echo through a pipe to Node takes {floor * 1e6:.0f} us per round trip")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
