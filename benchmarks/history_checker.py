"""Benchmark: the register checker (model.register) on large concurrent histories, beside
the contract machinery (model.monitor, on the small rows) and Porcupine (Go).

A linearizable key-value register is simulated with 8 or 32 clients over 16 keys: each
client has at most one operation in flight, operations overlap, every write's effect
happens at a random moment between its invocation and its completion, and 1 write in 50
fails (indeterminate: it took effect before failing, or never). The invalid twin of each
history is the same with one read, near the middle, made to return a value overwritten
before the read began. Every history is written to a temporary file in the format below,
which every checker reads (reading is not timed), each in a process of its own.

Columns: the verdict; the check's CPU seconds (on one core: a loaded machine stretches
wall time, not CPU time) and wall seconds; the peak memory of the check beyond the parsed
history: for Python, tracemalloc's peak during a second, untimed run of the check (the
bytes Python allocated for it); for Porcupine, the process's peak RSS (getrusage) minus
its RSS once the history was parsed. Ratios are of CPU seconds.

Porcupine runs when a Go toolchain is on PATH and PORCUPINE_SRC names a checkout of
anishathalye/porcupine: a small checker on its API (a register model over the same
histories, partitioned by key; a failed write returns at +infinity, so it may take effect
at any later moment, which at the end is the same as never) is built in a temporary
directory and run with GOMAXPROCS=1, with a time limit and a memory cap.

Run:  python benchmarks/history_checker.py [OPS ...] [--clients 8,32] [--porcupine-timeout S]
      [--porcupine-memory-gb G] [--no-contract]
(default OPS: 10000 100000 1000000; exit 0 when every valid history CONFORMS and every
invalid one VIOLATES under model.register).

History file format (version 1), one event per line in time order (a line's position is
its time); tokens contain no whitespace; '-' is the value None (so it is never written):

    # register-history 1
    i OP CLIENT r KEY          OP, a read of KEY, invoked by CLIENT
    i OP CLIENT w KEY VALUE    OP, a write of VALUE to KEY, invoked
    o OP [VALUE]               OP returned (a read: VALUE)
    f OP                       OP failed (a write: indeterminate)
    c                          crash: every open operation ends (Porcupine's side refuses it)
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model import Contract, Crash, Fail, Invoke, Ok, check_history, policy
from model.register import CRASH, FAIL, OK, READ, WRITE, RegisterChecker

KEYS = 16
FORMAT = "# register-history 1"


def make_history(n_ops: int, keys: int = KEYS, clients: int = 8, seed: int = 1, fail_rate: float = 0.02) -> list:
    """A linearizable history of `n_ops` operations (see the module docstring)."""
    rng = random.Random(seed)
    store: dict[str, str | None] = {}
    events: list = []
    inflight: dict[int, tuple] = {}  # client -> (op, kind, key, value, applied?)
    op = value = t = 0
    done = 0
    while done < n_ops:
        t += 1
        c = rng.randrange(clients)
        if c not in inflight:
            op += 1
            key = f"k{rng.randrange(keys)}"
            if rng.random() < 0.5:
                value += 1
                v = f"v{value}"
                inflight[c] = (op, "write", key, v, False)
                events.append(Invoke(op, f"c{c}", "write", key, v, float(t)))
            else:
                inflight[c] = (op, "read", key, None, None)
                events.append(Invoke(op, f"c{c}", "read", key, None, float(t)))
            continue
        o, kind, key, v, applied = inflight[c]
        if kind == "write" and not applied and rng.random() < 0.5:
            store[key] = v  # the linearization point, somewhere inside the operation
            inflight[c] = (o, kind, key, v, True)
            continue
        if kind == "write":
            if rng.random() < fail_rate:
                if rng.random() < 0.5 and not applied:
                    store[key] = v
                events.append(Fail(o, "TimeoutError", float(t)))
            else:
                if not applied:
                    store[key] = v
                events.append(Ok(o, None, float(t)))
        else:
            events.append(Ok(o, store.get(key), float(t)))
        del inflight[c]
        done += 1
    return events


def tamper(events: list) -> list:
    """The same history with one read near the middle returning a value overwritten before
    the read began: a write of u completed, then a write of x was invoked and completed,
    then the read was invoked; it returns u. Not linearizable (u's write must precede x's,
    and x's the read of u)."""
    invoked: dict[int, tuple[int, str, str | None, str | None]] = {}  # op -> (at, kind, key, value)
    ok_writes: dict[str, list[tuple[int, int, str]]] = {}  # key -> (invoked, completed, value)
    for i, e in enumerate(events):
        if isinstance(e, Invoke):
            invoked[e.op] = (i, e.kind, e.key, e.value)
        elif isinstance(e, Ok):
            at, kind, key, value = invoked[e.op]
            if kind == "write":
                ok_writes.setdefault(key, []).append((at, i, value))  # type: ignore[arg-type]
            elif i >= len(events) // 2:
                stale = _overwritten_before(ok_writes.get(key, []), at)  # type: ignore[arg-type]
                if stale is not None and stale != e.result:
                    out = list(events)
                    out[i] = Ok(e.op, stale, e.time)
                    return out
    raise ValueError("no read to tamper with")


def _overwritten_before(writes: list[tuple[int, int, str]], read_at: int) -> str | None:
    """A value whose write completed before another write was invoked, which completed
    before `read_at`."""
    done = [w for w in writes if w[1] < read_at]
    for inv_x, _, _ in reversed(done):
        for _, ok_u, u in reversed(done):
            if ok_u < inv_x:
                return u
    return None


# ---- the history file ------------------------------------------------------------------

def write_history(events: list, path: Path) -> None:
    kinds: dict[int, str] = {}
    with open(path, "w") as f:
        f.write(FORMAT + "\n")
        for e in events:
            if isinstance(e, Invoke):
                kinds[e.op] = e.kind
                if e.kind == "write":
                    f.write(f"i {e.op} {e.client} w {e.key} {e.value}\n")
                else:
                    f.write(f"i {e.op} {e.client} r {e.key}\n")
            elif isinstance(e, Ok):
                if kinds.get(e.op) == "read":
                    f.write(f"o {e.op} {'-' if e.result is None else e.result}\n")
                else:
                    f.write(f"o {e.op}\n")
            elif isinstance(e, Fail):
                f.write(f"f {e.op}\n")
            elif isinstance(e, Crash):
                f.write("c\n")
            else:
                raise TypeError(f"not in the register history format: {e!r}")


def read_rows(path: Path) -> list[tuple]:
    """The history as model.register rows (one per event line)."""
    out: list[tuple] = []
    append = out.append
    with open(path) as f:
        for n, line in enumerate(f, 1):
            p = line.split()
            if not p or p[0].startswith("#"):
                continue
            tag = p[0]
            if tag == "o":
                append((OK, int(p[1]), None, None if len(p) < 3 or p[2] == "-" else p[2]))
            elif tag == "i":
                if p[3] == "w":
                    append((WRITE, int(p[1]), p[4], p[5]))
                else:
                    append((READ, int(p[1]), p[4], None))
            elif tag == "f":
                append((FAIL, int(p[1]), None, None))
            elif tag == "c":
                append((CRASH, None, None, None))
            else:
                raise ValueError(f"{path}:{n}: expected a line starting with i, o, f or c, got {line.strip()!r}")
    return out


def read_events(path: Path) -> list:
    """The history as model events (for the contract machinery)."""
    out: list = []
    t = 0.0
    for code, op, key, value in read_rows(path):
        t += 1
        if code == OK:
            out.append(Ok(op, value, t))
        elif code == WRITE:
            out.append(Invoke(op, "c", "write", key, value, t))
        elif code == READ:
            out.append(Invoke(op, "c", "read", key, None, t))
        elif code == FAIL:
            out.append(Fail(op, "failed", t))
        else:
            out.append(Crash(t))
    return out


# ---- one measurement, in a process of its own ------------------------------------------

def measure(checker: str, path: Path) -> dict:
    if checker == "fast":
        history: list = read_rows(path)

        def check() -> str:
            return "CONFORMS" if RegisterChecker().run(history) is None else "VIOLATES"
    else:
        history = read_events(path)

        def check() -> str:
            return check_history(Contract(policy("write-through")), history).status
    gc.collect()
    gc.freeze()  # the parsed history is not the check's: no collection walks it
    c0, w0 = time.process_time(), time.perf_counter()
    status = check()
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    tracemalloc.start()
    check()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"status": status, "cpu": cpu, "wall": wall, "peak": peak}


def _measured(checker: str, path: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--measure", checker, str(path)],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        return {"status": "ERROR: " + (out.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(out.stdout)


# ---- Porcupine ---------------------------------------------------------------------------

_GO_CHECKER = r'''
// A register checker on Porcupine's API for benchmarks/history_checker.py's history format.
package main

import (
	"bufio"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/anishathalye/porcupine"
)

type input struct {
	write bool
	key   string
	value string // "" is None
}

var model = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		index := map[string]int{}
		var out [][]porcupine.Operation
		for _, op := range history {
			k := op.Input.(input).key
			i, ok := index[k]
			if !ok {
				i = len(out)
				index[k] = i
				out = append(out, nil)
			}
			out[i] = append(out[i], op)
		}
		return out
	},
	Init: func() interface{} { return "" },
	Step: func(state, in, out interface{}) (bool, interface{}) {
		i := in.(input)
		if i.write {
			return true, i.value
		}
		return out.(string) == state.(string), state
	},
	Equal: func(a, b interface{}) bool { return a.(string) == b.(string) },
	Hash: func(s interface{}) uint64 {
		h := fnv.New64a()
		h.Write([]byte(s.(string)))
		return h.Sum64()
	},
}

func rss() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

func cpu() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

func main() {
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(2)
	}
	timeout, _ := strconv.ParseFloat(os.Args[2], 64)
	type open struct {
		at    int64
		in    input
		read  bool
	}
	pending := map[int]open{}
	var ops []porcupine.Operation
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var t int64
	for sc.Scan() {
		p := strings.Fields(sc.Text())
		if len(p) == 0 || strings.HasPrefix(p[0], "#") {
			continue
		}
		t++
		switch p[0] {
		case "i":
			id, _ := strconv.Atoi(p[1])
			if p[3] == "w" {
				pending[id] = open{t, input{true, p[4], p[5]}, false}
			} else {
				pending[id] = open{t, input{false, p[4], ""}, true}
			}
		case "o":
			id, _ := strconv.Atoi(p[1])
			o := pending[id]
			delete(pending, id)
			result := ""
			if len(p) > 2 && p[2] != "-" {
				result = p[2]
			}
			ops = append(ops, porcupine.Operation{Input: o.in, Call: o.at, Output: result, Return: t})
		case "f":
			id, _ := strconv.Atoi(p[1])
			o := pending[id]
			delete(pending, id)
			if !o.read {
				// indeterminate: it may take effect at any later moment (at the end: never)
				ops = append(ops, porcupine.Operation{Input: o.in, Call: o.at, Output: "", Return: math.MaxInt64})
			}
		default:
			fmt.Println("UNSUPPORTED", p[0])
			os.Exit(3)
		}
	}
	for _, o := range pending {
		if !o.read {
			ops = append(ops, porcupine.Operation{Input: o.in, Call: o.at, Output: "", Return: math.MaxInt64})
		}
	}
	base := rss()
	c0, w0 := cpu(), time.Now()
	res := porcupine.CheckOperationsTimeout(model, ops, time.Duration(timeout*float64(time.Second)))
	c1, wall := cpu(), time.Since(w0).Seconds()
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	names := map[porcupine.CheckResult]string{porcupine.Ok: "Ok", porcupine.Illegal: "Illegal", porcupine.Unknown: "Unknown"}
	fmt.Printf("%s %f %f %d\n", names[res], c1-c0, wall, ru.Maxrss*1024-base)
}
'''


def build_porcupine(workdir: Path) -> tuple[Path | None, str]:
    """The Go checker built on Porcupine's API, or None and why not."""
    src = os.environ.get("PORCUPINE_SRC")
    go = shutil.which("go")
    if not src:
        return None, "PORCUPINE_SRC is not set (a checkout of github.com/anishathalye/porcupine)"
    if not (Path(src) / "porcupine.go").is_file():
        return None, f"PORCUPINE_SRC={src} is not a checkout of anishathalye/porcupine (no porcupine.go)"
    if go is None:
        return None, "no Go toolchain on PATH (Debian: apt-get install golang-go)"
    d = workdir / "porcupine-checker"
    d.mkdir()
    (d / "main.go").write_text(_GO_CHECKER)
    (d / "go.mod").write_text(
        "module porcupinechecker\n\ngo 1.16\n\n"
        "require github.com/anishathalye/porcupine v0.0.0\n\n"
        f"replace github.com/anishathalye/porcupine => {Path(src).resolve()}\n")
    env = dict(os.environ, GOFLAGS="-mod=mod", GOPROXY="off", GOSUMDB="off")
    out = subprocess.run([go, "build", "-o", "checker", "."], check=False, cwd=d, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        return None, f"go build failed: {out.stderr.strip()[-300:]}"
    return d / "checker", ""


def _default_memory_gb() -> float:
    try:
        with open("/proc/meminfo") as f:
            avail = next(int(line.split()[1]) for line in f if line.startswith("MemAvailable:"))
    except (OSError, StopIteration):
        return 4.0
    return round(min(16.0, 0.6 * avail / 2**20), 1)


def run_porcupine(checker: Path, path: Path, timeout: float, memory_gb: float) -> dict:
    """Run it with GOMAXPROCS=1; killed past `timeout` (+10 s) or `memory_gb` of RSS."""
    env = dict(os.environ, GOMAXPROCS="1")
    p = subprocess.Popen([str(checker), str(path), str(timeout)], stdout=subprocess.PIPE, text=True, env=env)
    limit = time.monotonic() + timeout + 10
    cap = memory_gb * 2**30
    why = None
    while p.poll() is None:
        time.sleep(0.05)
        try:
            with open(f"/proc/{p.pid}/statm") as f:
                rss = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            continue
        if rss > cap:
            why = f"killed above {memory_gb:g} GB"
        elif time.monotonic() > limit:
            why = f"killed after {timeout:g} s"
        if why:
            p.kill()
            p.wait()
            return {"status": why}
    out = (p.stdout.read() if p.stdout else "").split()
    if not out or out[0] not in ("Ok", "Illegal", "Unknown"):
        return {"status": "ERROR " + " ".join(out)}
    return {"status": out[0], "cpu": float(out[1]), "wall": float(out[2]), "peak": int(out[3])}


# ---- the table ---------------------------------------------------------------------------

def _fmt(m: dict | None) -> str:
    if not m:
        return ""
    if "cpu" not in m:
        return m["status"]
    return f"{m['status']} {m['cpu']:.3f} {m['wall']:.3f} {m['peak'] / 2**20:.1f}MB"


def _ratio(other: dict | None, fast: dict) -> str:
    if not other or "cpu" not in other or "cpu" not in fast or fast["cpu"] <= 0:
        return ""
    r = other["cpu"] / fast["cpu"]
    return f"{r:.1f}x" if r >= 1 else f"1/{1 / r:.1f}x"


def main(argv: list[str]) -> int:
    if argv[:1] == ["--measure"]:
        print(json.dumps(measure(argv[1], Path(argv[2]))))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("ops", nargs="*", type=int, default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--clients", default="8,32")
    ap.add_argument("--contract-max", type=int, default=10_000,
                    help="run the contract machinery on rows of at most this many operations")
    ap.add_argument("--no-contract", action="store_true")
    ap.add_argument("--porcupine-timeout", type=float, default=120.0)
    ap.add_argument("--porcupine-memory-gb", type=float, default=_default_memory_gb(),
                    help="kill Porcupine above this RSS (default: 60%% of the available memory, at most 16)")
    args = ap.parse_args(argv)
    clients = [int(c) for c in args.clients.split(",")]
    ok = True
    with tempfile.TemporaryDirectory(prefix="history-checker-") as tmp:
        workdir = Path(tmp)
        porcupine, why = build_porcupine(workdir)
        print(f"model.register vs the contract machinery (write-through) vs Porcupine; {KEYS} keys, "
              f"1 write in 50 failing; cpu and wall seconds of the check, peak memory beyond the parsed history")
        if porcupine is None:
            print(f"Porcupine skipped: {why}")
        else:
            print(f"Porcupine: {os.environ['PORCUPINE_SRC']}, GOMAXPROCS=1, limits {args.porcupine_timeout:g} s "
                  f"and {args.porcupine_memory_gb:g} GB")
        header = (f"{'ops':>8} {'clients':>7} {'history':>7} | {'model.register':<34} | "
                  f"{'contract machinery':<30} {'ratio':>7} | {'Porcupine':<32} {'ratio':>7}")
        print(header)
        print("-" * len(header))
        for n in args.ops:
            for c in clients:
                valid = make_history(n, clients=c)
                for label, events in (("valid", valid), ("invalid", tamper(valid))):
                    path = workdir / f"h-{n}-{c}-{label}.txt"
                    write_history(events, path)
                    del events
                    fast = _measured("fast", path)
                    expected = "CONFORMS" if label == "valid" else "VIOLATES"
                    ok &= fast.get("status") == expected
                    contract = None
                    if not args.no_contract and n <= args.contract_max:
                        contract = _measured("contract", path)
                    pc = run_porcupine(porcupine, path, args.porcupine_timeout, args.porcupine_memory_gb) if porcupine else None
                    print(f"{n:>8} {c:>7} {label:>7} | {_fmt(fast):<34} | {_fmt(contract):<30} "
                          f"{_ratio(contract, fast):>7} | {_fmt(pc):<32} {_ratio(pc, fast):>7}", flush=True)
                    path.unlink()
                del valid
    print("every valid history CONFORMS and every invalid one VIOLATES" if ok
          else "WRONG: a valid history did not CONFORM or an invalid one did not VIOLATE")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
