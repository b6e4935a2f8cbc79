"""Benchmark: the history checker on a large concurrent history.

A linearizable key-value register is simulated with 8 clients over 16 keys: each client
has at most one operation in flight, operations overlap, every write's effect happens at
a random moment between its invocation and its completion, and 1 write in 50 fails
(indeterminate: it takes effect or not). The history is then checked against the
write-through contract, key by key. Run:  python benchmarks/history_checker.py [OPS]
"""

from __future__ import annotations

import random
import sys
import time

from model import Contract, Fail, Invoke, Ok, check_history, policy


def make_history(n_ops: int, keys: int = 16, clients: int = 8, seed: int = 1) -> list:
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
            if rng.random() < 0.02:
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


def main(argv: list[str]) -> int:
    n = int(argv[0]) if argv else 100_000
    events = make_history(n)
    t0 = time.perf_counter()
    verdict = check_history(Contract(policy("write-through")), events)
    dt = time.perf_counter() - t0
    print(f"history checker: {n} operations ({len(events)} events, 16 keys, 8 clients, ~1% indeterminate) "
          f"checked in {dt:.2f} s -> {verdict.status} ({n / dt:,.0f} ops/s)")
    return 0 if verdict.status == "CONFORMS" else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
