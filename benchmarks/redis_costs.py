"""Where the write-policy benchmark's time goes, on real Redis and PostgreSQL.

The figures docs/REDIS.md ("Where the time goes") cites, measured again:

1. server time per call (``INFO commandstats``) of the write-behind Lua step, of its three
   writes alone, of an empty script with the same keys and arguments, and of a SET;
2. a SET round trip right after another SET, and right after a PostgreSQL upsert; an upsert
   then a SET timed as one sequence (the switch between two servers costs more than
   either round trip alone);
3. a write-behind flush of 2,000 rows on PostgreSQL: wall time, and the Redis server time
   it spent, by command;
4. round trips of a SET, of the write-behind Lua step, of its three writes alone and of the
   subject's whole ``write``, with the client and redis-server pinned to one CPU and then
   to two: on a VM a round trip between two vCPUs waits for the idle one to wake up, and
   which of the two the scheduler picks decides how much the Lua step's fixed server time
   weighs against a SET.

Run:  python benchmarks/redis_costs.py [--quick]   (starts its own redis-server; PostgreSQL
from DATABASE_URL or the local server; --quick: a tenth of the calls, for a smoke test).
Exit 2 with one line when a server is unavailable.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import redis

import implementations.redis as impl
from cache_conformance.bench import (
    PLACEMENTS,
    PlacementUnavailable,
    bare_upsert,
    interleaved,
    pin_cpus,
)
from conformance.backends import BackendUnavailable, RedisStores, open_backend, postgres_url
from conformance.backends.live import LiveEnv, WallClock
from conformance.backends.server import RedisServer, ServerUnavailable
from implementations.redis._scripts import WB_WRITE


def server_usec_per_call(client: redis.Redis, command: str, call: Callable[[int], Any],
                         calls: int = 5000) -> float:
    client.config_resetstat()
    for i in range(calls):
        call(i)
    return float(client.info("commandstats")[f"cmdstat_{command}"]["usec_per_call"])


# The write-behind step's three writes and nothing else: no version (TIME, HMGET), no queue
# bound (XLEN). What any design that queues a durable entry, marks the key pending and sets
# the cache entry in one atomic step must at least do.
THREE_WRITES = """
local id = redis.call('XADD', KEYS[3], '*', 'e', '1:' .. ARGV[1] .. ARGV[2], 'l', ARGV[4])
redis.call('HSET', KEYS[2], 'n', '1', 'd', ARGV[2], 'dv', '1', 'di', id)
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'x', '')
return 1
"""
SCRIPTS = (("WB_WRITE (the write-behind write)", WB_WRITE),
           ("its three writes alone", THREE_WRITES),
           ("return 1, same keys and arguments", "return 1"))


def with_args(client: redis.Redis, sha: str, tag: str) -> Callable[[int], Any]:
    """EVALSHA `sha` with the write-behind step's keys and arguments, a new key per call."""
    return lambda i: client.execute_command(
        "EVALSHA", sha, 3, f"{{s1}}c:{tag}{i}", f"{{s1}}m:{tag}{i}", "{s1}wb", f"{tag}{i}",
        "value", 10**6, len(f"{tag}{i}"))


def script_costs(client: redis.Redis, calls: int) -> None:
    print(f"1. server time per call (INFO commandstats, {calls:,} calls each)")
    for n, (name, source) in enumerate(SCRIPTS):
        usec = server_usec_per_call(
            client, "evalsha", with_args(client, client.script_load(source), f"k{n}_"), calls)
        print(f"   {name:36} {usec:6.2f} µs")
    usec = server_usec_per_call(client, "set", lambda i: client.set(f"f{i}", "value"), calls)
    print(f"   {'SET':36} {usec:6.2f} µs")


def switch_costs(client: redis.Redis, upsert: Callable[[str], Any], per_round: int) -> None:
    def timed(before: Callable[[], Any], op: Callable[[int], Any], samples: list[float],
              i: int) -> None:
        before()
        started = time.perf_counter()
        op(i)
        samples.append(time.perf_counter() - started)

    def set_(i: int) -> Any:
        return client.set(f"g{i}", "value")

    def both(i: int) -> Any:
        upsert(f"s{i}")
        return set_(i)

    cases: dict[str, tuple[Callable[[], Any], Callable[[int], Any]]] = {
        "SET after a SET": (lambda: client.set("a", "v"), set_),
        "SET right after an upsert": (lambda: upsert("z"), set_),
        "upsert after an upsert": (lambda: upsert("z"), lambda i: upsert(f"u{i}")),
        "upsert then SET, one sequence": (lambda: None, both),
    }
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for r in range(10):  # interleaved rounds, as in the benchmark
        for name, (before, op) in cases.items():
            for i in range(r * per_round, (r + 1) * per_round):
                timed(before, op, samples[name], i)
    print(f"2. round trips, p50 of {10 * per_round:,} each (interleaved rounds)")
    for name, values in samples.items():
        print(f"   {name:36} {statistics.median(values) * 1e6:7.1f} µs")


def flush_costs(backend: RedisStores, client: redis.Redis, rows: int) -> None:
    subject = impl.WriteBehind(LiveEnv(backend), background=False, max_queue=10**6)
    rounds = 6
    elapsed, usec = 0.0, {}
    for r in range(rounds):
        for i in range(rows):
            subject.write(f"write-behind:{r}:{i}", "value")
        client.config_resetstat()
        started = time.perf_counter()
        subject.flush()
        took = time.perf_counter() - started
        if r:  # the first round warms connections and script caches
            elapsed += took
            for name, stats in client.info("commandstats").items():
                usec[name] = usec.get(name, 0) + stats["usec"]
    measured = rounds - 1
    print(f"3. write-behind flush of {rows:,} rows on PostgreSQL, mean of {measured}: "
          f"{elapsed / measured * 1000:.1f} ms ({rows * measured / elapsed:,.0f} rows/s); "
          "Redis server time by command (EVALSHA includes the commands its scripts run):")
    for name, total in sorted(usec.items(), key=lambda item: -item[1]):
        if total / measured >= 20 and "resetstat" not in name:
            print(f"   {name.removeprefix('cmdstat_'):36} {total / measured / 1000:6.2f} ms")


def placement_costs(backend: RedisStores, client: redis.Redis, server_pid: int | None,
                    per_round: int) -> None:
    subject = impl.WriteBehind(LiveEnv(backend), background=False, max_queue=10**6)
    ops: dict[str, Callable[[int], Any]] = {"SET": lambda i: client.set(f"p{i}", "value")}
    for n, (name, source) in enumerate(SCRIPTS):
        ops[name] = with_args(client, client.script_load(source), f"p{n}_")
    # the same step through the subject: its key names, its client, its Python
    ops["WriteBehind.write (the subject)"] = lambda i: subject.write(f"p{i}", "value")
    print(f"4. round trips by placement, p50 of {10 * per_round:,} each (interleaved rounds)")
    for n, placement in enumerate(("shared", "split")):
        try:
            unpin = pin_cpus(placement, server_pid)
        except PlacementUnavailable as exc:
            print(f"   {placement}: not measured ({exc})")
            continue
        try:
            samples, _ = interleaved(ops, per_round, rounds=10, start=n * 10 * per_round)
        finally:
            unpin()
        floor = statistics.median(samples["SET"])
        print(f"   {PLACEMENTS[placement]}:")
        for name, values in samples.items():
            p50 = statistics.median(values)
            print(f"     {name:34} {p50 * 1e6:7.1f} µs  {p50 / floor:5.2f}x SET")


def main(argv: list[str] | None = None) -> int:
    quick = "--quick" in (sys.argv[1:] if argv is None else argv)
    scale = 10 if quick else 1
    try:
        server = RedisServer().start()
    except ServerUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        client = redis.Redis.from_url(server.url)
        backend = open_backend(redis_url=server.url, database=postgres_url(), clock=WallClock(),
                               prefix=f"costs{os.getpid()}")
        # The bare upsert of the write-policy benchmark, on the stores' own connection.
        upsert, _, _, drop = bare_upsert(backend.db.connection, f"cc_costs{os.getpid()}_bare")
        try:
            script_costs(client, 5000 // scale)
            switch_costs(client, upsert, 200 // scale)
            flush_costs(backend, client, 2000 // scale)
            placement_costs(backend, client, server.pid, 500 // scale)
        finally:
            drop()
            backend.close()
    except BackendUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
