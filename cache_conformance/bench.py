"""Write-policy benchmark on real Redis + PostgreSQL and Redis + SQLite.

For write-through, write-behind and write-around (implementations.redis) it measures the
write latency p50/p99 and throughput of one client, and write-behind's flush rate; and,
in the same run and on the same servers, the floors they are judged against: one bare
redis-py SET round trip, one bare upsert commit, and the raw batched upsert rate on one
connection -- with executemany in a transaction (the target's floor) and with the statement
``put_many`` itself sends (on PostgreSQL one statement over arrays, which is faster), so the
flush's own overhead can be read like for like; and one bare upsert then one bare SET timed
as one sequence, the simplest write-through, beside the target's sum of the two floors. It
prints the seed POC's comparison (001) beside the measured one.

    cache-conformance bench [--writes N] [--database both|sqlite|postgres]
                            [--redis-url URL] [--json PATH]
                            [--placement both|shared|split|os]

Where the client and Redis run decides the SET floor: on this VM a round trip between two
vCPUs waits for the idle one to wake up (~100 µs), on one vCPU it does not (~43 µs), and a
ratio to the floor moves with it. So the benchmark pins itself and the redis-server it
starts: to one CPU (``shared``), to two (``split``), by default ``both`` one after the
other. Left to the scheduler (``os``; the only choice with ``--redis-url`` or
``REDIS_URL``, a server the benchmark cannot pin), the floor's rounds and a subject's can
run in different placements (docs/REDIS.md, "Where the time goes").

Exit 0 after printing (a benchmark, not a gate: pass --strict to exit 1 on a missed
target), 2 when a server is unavailable.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import attrs

from conformance.backends.sql_store import (
    CREATE,
    DROP,
    POSTGRES,
    PUT,
    PUT_MANY_PG,
    SQLITE,
)

__all__ = [
    "FLUSH_ROUNDS", "PLACEMENTS", "ROUNDS", "SEED_001", "TARGETS", "Figures", "Latency", "PlacementUnavailable",
    "bare_upsert", "benchmark", "interleaved", "measure", "pin_cpus", "render",
]

# Seed 001 ("POC #62"), its printed output: 20 writes each, Date.now() in ms.
SEED_001 = {"writes": 20, "write_through_ms": 8.25, "write_behind_ms": 1.60, "speedup": 5.16}

ROUNDS = 10
FLUSH_ROUNDS = 5

# where the client and its redis-server run: left to the scheduler, one CPU, two CPUs
PLACEMENTS = {"os": "placed by the OS", "shared": "client and Redis pinned to one CPU",
              "split": "client and Redis pinned to two CPUs"}

TARGETS = {
    "write-behind p50 / SET": 1.3,
    "write-through p50 / (upsert + SET)": 1.15,
    "flush rows/s / raw batched rows/s": 0.8,  # a floor, not a ceiling
}


@attrs.frozen
class Latency:
    p50_ms: float
    p99_ms: float
    per_second: float

    @classmethod
    def of(cls, samples: list[float], elapsed: float) -> Latency:
        ordered = sorted(samples)

        def q(p: float) -> float:
            return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000.0

        return cls(q(0.50), q(0.99), len(samples) / elapsed)


@attrs.frozen
class Figures:
    database: str
    writes: int
    set_floor: Latency
    upsert_floor: Latency
    policies: dict[str, Latency]
    flush_rows_per_s: float
    raw_batch_rows_per_s: float
    batch_size: int
    # the raw batched upsert with put_many's own statement (SQLite: the same as above)
    same_statement_rows_per_s: float = 0.0
    # every round's rows/s: "flush", "raw" (executemany), "stmt" (put_many's statement);
    # the three rates above are their medians
    rate_samples: dict[str, list[float]] = attrs.field(factory=dict)
    # a bare upsert then a bare SET, timed as one: what the simplest write-through costs
    # (a round trip to one server right after one to the other is slower than either floor)
    sequence_floor: Latency | None = None
    placement: str = "os"  # a key of PLACEMENTS

    def ratios(self) -> dict[str, float]:
        wb, wt = self.policies["write-behind"], self.policies["write-through"]
        return {
            "write-behind p50 / SET": wb.p50_ms / self.set_floor.p50_ms,
            "write-through p50 / (upsert + SET)": wt.p50_ms / (self.upsert_floor.p50_ms
                                                              + self.set_floor.p50_ms),
            "flush rows/s / raw batched rows/s": self.flush_rows_per_s / self.raw_batch_rows_per_s,
            **({"write-through p50 / (upsert then SET, one sequence)":
                wt.p50_ms / self.sequence_floor.p50_ms} if self.sequence_floor else {}),
            "flush rows/s / raw rows/s, same statement": (
                self.flush_rows_per_s / self.same_statement_rows_per_s
                if self.same_statement_rows_per_s else float("nan")),
        }

    def met(self) -> dict[str, bool]:
        r = self.ratios()
        return {name: (r[name] >= bound if "flush" in name else r[name] <= bound)
                for name, bound in TARGETS.items()}


def bare_upsert(connection: Any, table: str) -> tuple[Callable[[str], Any], Callable[[list], Any],
                                                      Callable[[list], Any], Callable[[], None]]:
    """One bare upsert commit; a raw batched upsert (executemany in one transaction); and
    the same rows with the statement ``put_many`` sends (PostgreSQL: one INSERT over
    unnest(arrays), autocommit; SQLite: the executemany above) -- all on `connection`, the
    very connection the stores (and so the write-behind flush) use."""
    # The store's own statement templates, so "put_many's statement" is that by construction.
    postgres = type(connection).__module__.startswith("psycopg")
    dialect = POSTGRES if postgres else SQLITE
    quoted = f'"{table}"'
    sql = dialect.sql(PUT, quoted)
    connection.execute(dialect.sql(CREATE.replace("{blob}", dialect.blob), quoted))

    def one(key: str) -> None:
        connection.execute(sql, (key.encode(), b"value"))

    def close() -> None:
        connection.execute(dialect.sql(DROP, quoted))

    if postgres:
        def batch(rows: list) -> None:
            with connection.transaction(), connection.cursor() as cur:
                cur.executemany(sql, rows)

        arrays = dialect.sql(PUT_MANY_PG, quoted)

        def statement(rows: list) -> None:
            connection.execute(arrays, ([k for k, _ in rows], [v for _, v in rows]))
        return one, batch, statement, close

    def batch_lite(rows: list) -> None:
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(sql, rows)
        connection.execute("COMMIT")
    return one, batch_lite, batch_lite, close


class PlacementUnavailable(ValueError):
    """The asked placement cannot be made on this machine or with this server."""


def _not_ours(placement: str) -> PlacementUnavailable:
    return PlacementUnavailable(f"--placement {placement} pins the redis-server the benchmark "
                                "starts; drop --redis-url and REDIS_URL")


def pin_cpus(placement: str, server_pid: int | None) -> Callable[[], None]:
    """Pin the calling thread (the benchmark's client) and the redis-server `server_pid`
    as `placement` says; return what undoes the client's pinning.

    Raises:
        PlacementUnavailable: the placement cannot be made here (no server of ours to pin,
            no sched_setaffinity, a single CPU for ``split``).
    """
    if placement not in PLACEMENTS:
        raise PlacementUnavailable(f"unknown placement {placement!r}: expected one of "
                                   f"{', '.join(PLACEMENTS)}")
    if placement == "os":
        return lambda: None
    if server_pid is None:
        raise _not_ours(placement)
    if not hasattr(os, "sched_setaffinity"):
        raise PlacementUnavailable(f"--placement {placement} needs os.sched_setaffinity (Linux)")
    before = os.sched_getaffinity(0)
    cpus = sorted(before)
    if placement == "split" and len(cpus) < 2:
        raise PlacementUnavailable("--placement split needs two CPUs; this process may use one")
    # Redis runs its event loop on the main thread, whose id is the process id: that is
    # the thread every command waits for.
    os.sched_setaffinity(server_pid, {cpus[0]})
    os.sched_setaffinity(0, {cpus[0] if placement == "shared" else cpus[1]})
    return lambda: os.sched_setaffinity(0, before)


def _placements(asked: str | None, *, own_server: bool) -> list[str]:
    """The placements to measure, in order. Unpinned by default only when the server is not
    ours: left to the scheduler, the floor's rounds and the subject's can run in different
    placements, and a ratio across two placements means nothing (0.99x was seen)."""
    if asked is None:
        if not own_server or not hasattr(os, "sched_setaffinity"):
            return ["os"]
        asked = "both"
    if asked != "os" and not own_server:
        raise _not_ours(asked)
    if asked == "both":
        return ["shared", "split"] if len(os.sched_getaffinity(0)) >= 2 else ["shared"]
    return [asked]


def interleaved(ops: dict[str, Callable[[int], Any]], per_round: int, rounds: int = ROUNDS,
                start: int = 0) -> tuple[dict[str, list[float]], dict[str, float]]:
    """Each op's seconds per call, and its total, over `rounds` interleaved rounds of
    `per_round` calls (call numbers from `start`, a new one per call). Interleaved: a noisy
    neighbour slows floors and subjects alike, so their ratios stay meaningful on a shared
    machine."""
    samples: dict[str, list[float]] = {name: [] for name in ops}
    spent = dict.fromkeys(ops, 0.0)
    for r in range(rounds):
        first = start + r * per_round
        for name, op in ops.items():
            started = time.perf_counter()
            for i in range(first, first + per_round):
                t0 = time.perf_counter()
                op(i)
                samples[name].append(time.perf_counter() - t0)
            spent[name] += time.perf_counter() - started
    return samples, spent


def measure(redis_url: str, database: str | None, label: str, writes: int,
            batch_size: int = 256, placement: str = "os") -> Figures:
    import redis

    import implementations.redis as impl
    from conformance.backends import open_backend
    from conformance.backends.live import LiveEnv, WallClock

    tag = f"b{os.getpid()}_{label}"
    backend = open_backend(redis_url=redis_url, database=database, clock=WallClock(), prefix=tag)
    bare = redis.Redis.from_url(redis_url)
    one, batch, statement, close_bare = bare_upsert(backend.db.connection, f"cc_{tag}_bare")
    try:
        warm = max(20, writes // 10)
        for i in range(warm):  # connections, statement plans, script caches
            bare.set(f"cc:{tag}:warm", "v")
            one(f"warm{i}")
        subjects = {
            "write-through": impl.write_through(LiveEnv(backend)),
            "write-behind": impl.WriteBehind(LiveEnv(backend), background=False,
                                             batch_size=batch_size, max_queue=10 * writes),
            "write-around": impl.write_around(LiveEnv(backend)),
        }
        for policy, subject in subjects.items():
            for i in range(warm):
                subject.write(f"{policy}:warm{i}", "value")
        subjects["write-behind"].flush()
        ops: dict[str, Callable[[int], Any]] = {
            "SET": lambda i: bare.set(f"cc:{tag}:floor:{i}", "value"),
            "upsert": lambda i: one(f"f{i}"),
            "upsert then SET": lambda i: (one(f"s{i}"), bare.set(f"cc:{tag}:seq:{i}", "value")),
            **{p: (lambda i, p=p, s=s: s.write(f"{p}:{i}", "value")) for p, s in subjects.items()},
        }
        per_round = max(1, writes // ROUNDS)
        samples, spent = interleaved(ops, per_round)
        lat = {name: Latency.of(samples[name], spent[name]) for name in ops}
        set_floor, upsert_floor = lat.pop("SET"), lat.pop("upsert")
        sequence_floor = lat.pop("upsert then SET")
        policies = lat
        # Rates in interleaved rounds too, each the median of FLUSH_ROUNDS: one flush of a
        # few thousand rows lasts tens of milliseconds, and a single sample of it moved by
        # a third from run to run. The first round flushes the writes measured above.
        queued = per_round * ROUNDS
        rates: dict[str, list[float]] = {"flush": [], "raw": [], "stmt": []}
        for r in range(FLUSH_ROUNDS):
            for i in range(queued if r else 0):
                subjects["write-behind"].write(f"write-behind:f{r}:{i}", "value")
            started = time.perf_counter()
            subjects["write-behind"].flush()
            rates["flush"].append(queued / (time.perf_counter() - started))
            for name, upsert in (("raw", batch), ("stmt", statement)):
                rows = [(f"{name}{r}:{i}".encode(), b"value") for i in range(queued)]
                started = time.perf_counter()
                for start in range(0, queued, batch_size):
                    upsert(rows[start:start + batch_size])
                rates[name].append(queued / (time.perf_counter() - started))
        return Figures(label, writes, set_floor, upsert_floor, policies,
                       statistics.median(rates["flush"]), statistics.median(rates["raw"]),
                       batch_size, statistics.median(rates["stmt"]), rates, sequence_floor,
                       placement)
    finally:
        close_bare()
        for key in bare.scan_iter(match=f"cc:{tag}:*", count=1000):
            bare.delete(key)
        bare.close()
        backend.close()


def render(figures: list[Figures]) -> str:
    lines = []
    for f in figures:
        where = "" if f.placement == "os" else f", {PLACEMENTS[f.placement]}"
        lines.append(f"== Redis + {f.database}: {f.writes} sequential writes per row, one client{where} ==")
        lines.append(f"{'':34}{'p50 ms':>9}{'p99 ms':>9}{'writes/s':>11}")
        rows = [("floor: bare redis-py SET", f.set_floor),
                ("floor: bare upsert commit", f.upsert_floor),
                *((("  upsert then SET, one sequence", f.sequence_floor),) if f.sequence_floor else ()),
                *((p, lat) for p, lat in f.policies.items())]
        for name, lat in rows:
            lines.append(f"{name:34}{lat.p50_ms:9.3f}{lat.p99_ms:9.3f}{lat.per_second:11.0f}")
        rounds = len(f.rate_samples.get("flush", ())) or 1
        lines.append(f"write-behind flush: {f.flush_rows_per_s:,.0f} rows/s; raw batched upsert "
                     f"({f.batch_size}/commit, same connection): {f.raw_batch_rows_per_s:,.0f} rows/s; "
                     f"with put_many's statement: {f.same_statement_rows_per_s:,.0f} rows/s "
                     f"(medians of {rounds} interleaved rounds)")
        met, ratios = f.met(), f.ratios()
        width = max(map(len, ratios))
        # the targets first, then the like-for-like readings beside them
        for name, ratio in sorted(ratios.items(), key=lambda item: item[0] not in TARGETS):
            if name not in TARGETS:
                lines.append(f"  {name:{width}} {ratio:6.2f}x  (like for like; no target of its own)")
                continue
            bound = TARGETS[name]
            sense = ">=" if "flush" in name else "<="
            lines.append(f"  {name:{width}} {ratio:6.2f}x  (target {sense} {bound}x: "
                         f"{'met' if met[name] else 'MISSED'})")
        two_trips = ((f.upsert_floor.p50_ms + 2 * f.set_floor.p50_ms)
                     / (f.upsert_floor.p50_ms + f.set_floor.p50_ms))
        lines.append(f"  (write-through makes two Redis round trips beside the upsert, the floor one: "
                     f"(upsert + 2 SET) / (upsert + SET) = {two_trips:.2f}x here)")
        wt, wb = f.policies["write-through"], f.policies["write-behind"]
        lines.append(
            f"  seed 001 (Node, ioredis + pg, {SEED_001['writes']} writes, ms clock): write-through "
            f"{SEED_001['write_through_ms']:.2f} ms vs write-behind {SEED_001['write_behind_ms']:.2f} ms"
            f" per write = {SEED_001['speedup']:.2f}x")
        lines.append(
            f"  measured here ({f.writes} writes, p50):                  write-through "
            f"{wt.p50_ms:.2f} ms vs write-behind {wb.p50_ms:.2f} ms per write = "
            f"{wt.p50_ms / wb.p50_ms:.2f}x (and this write-behind is durable: a Stream entry "
            f"in the same atomic step)")
        lines.append("")
    return "\n".join(lines)


def benchmark(redis_url: str | None, *, database: str = "both", postgres: str | None = None,
              writes: int = 2000, batch_size: int = 256, placement: str | None = None) -> list[Figures]:
    """Measure Redis with PostgreSQL, SQLite or both (`database`), in every placement that
    `placement` asks for (None: shared then split when the benchmark starts its own
    redis-server, else the scheduler's).

    Args:
        redis_url: a server to use; None starts (and pins) one here.
        postgres: a postgresql:// URL; None: DATABASE_URL or the local server.

    Raises:
        ServerUnavailable, BackendUnavailable, PlacementUnavailable: before anything is
            measured; ConnectionError, TimeoutError: a server went away meanwhile.
    """
    from conformance.backends import postgres_url
    from conformance.backends.server import RedisServer

    server = None
    figures: list[Figures] = []
    try:
        placements = _placements(placement, own_server=not redis_url)
        if not redis_url:
            server = RedisServer().start()
            redis_url = server.url
        targets = []
        if database in ("both", "postgres"):
            targets.append(("PostgreSQL", postgres or postgres_url()))
        if database in ("both", "sqlite"):
            targets.append(("SQLite", None))
        for where in placements:
            unpin = pin_cpus(where, server.pid if server is not None else None)
            try:
                figures += [measure(redis_url, db, label, writes, batch_size, where)
                            for label, db in targets]
            finally:
                unpin()
    finally:
        if server is not None:
            server.stop()
    return figures
