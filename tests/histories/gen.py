"""Histories for the tests, written as schema-1 JSON Lines: long, concurrent, with faults,
flushes and DB observations, valid under write-through by construction, and optionally
ending with a stale read (a linearizable-reads violation) on one key."""

from __future__ import annotations

import json
import random
from pathlib import Path


def _line(**fields: object) -> str:
    return json.dumps({"v": 1, **fields}, separators=(",", ":"))


def write_through_history(ops: int, *, keys: int = 10, clients: int = 4, seed: int = 0,
                          violate: str | None = None, fault_every: int = 125) -> list[str]:
    """About `ops` operations. Pairs of clients overlap on different keys; every `fault_every`
    steps (2 operations a step) the DB goes down for one failing (indeterminate) write and comes back;
    every 100 or so a flush; a DB observation after every acknowledged write. With `violate`
    (a key), the history ends with a write to that key and a read of the value before it."""
    rng = random.Random(seed)
    out = [_line(type="meta", policy="write-through")]
    value = {f"k{i}": None for i in range(keys)}
    t, n, op_id, step = 0, 0, 0, 0

    def op(client: str, f: str, key: str | None, written: str | None, result: str | None, *,
           ok: bool = True) -> tuple[str, str]:
        nonlocal op_id
        op_id += 1
        inv = {"type": "invoke", "process": client, "f": f, "time": t, "id": op_id}
        if key is not None:
            inv["key"] = key
        if f == "write":
            inv["value"] = written
        done = {"type": "ok" if ok else "info", "process": client, "f": f, "time": t + 1, "id": op_id}
        if f == "read":
            done["value"] = result
        if not ok:
            done["error"] = "ConnectionError: db down"
        return _line(**inv), _line(**done)

    while n < ops:
        t += 2
        step += 1
        if step % fault_every == 0:
            k = f"k{rng.randrange(keys)}"
            out.append(_line(type="fault", fault="db-down", time=t))
            i, d = op("c0", "write", k, f"lost{n}", None, ok=False)
            out += [i, d]
            t += 2
            out.append(_line(type="fault", fault="db-up", time=t))
            out.append(_line(type="db", key=k, value=value[k], time=t))
            n += 1
            continue
        if step % 50 == 0:
            i, d = op("c1", "flush", None, None, None)
            out += [i, d]
            n += 1
            continue
        a, b = rng.sample(range(keys), 2)
        ka, kb = f"k{a}", f"k{b}"
        ca, cb = rng.sample(range(clients), 2)
        va = f"v{n}"
        ia, da = op(f"c{ca}", "write", ka, va, None)
        ib, db = op(f"c{cb}", "read", kb, None, value[kb])
        value[ka] = va
        out += [ia, ib, da, db, _line(type="db", key=ka, value=va, time=t + 1)]
        n += 2
    if violate is not None:
        t += 2
        old, new = value[violate], f"v{n}"
        i, d = op("c0", "write", violate, new, None)
        out += [i, d, _line(type="db", key=violate, value=new, time=t + 1)]
        t += 2
        i, d = op("c1", "read", violate, None, old)
        out += [i, d]
    return out


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
