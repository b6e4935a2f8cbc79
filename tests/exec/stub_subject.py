"""A subject process for the harness's own tests: a correct DB-only write-through (every
read and write goes to the DB, so it conforms to every synchronous policy) that can be
told to misbehave on the wire.

    python stub_subject.py MODE [N]

Modes: ok; at start: garbage-hello, exit-before-hello, silent, bad-version; at the Nth
operation since a reset (default 2, the reset being the first): garbage, exit, wrong-id,
never, unknown-target, raise; all along: flood-stderr, children (leaves a child in its
group and a daemon that left it), random (picks its first request at random:
nondeterministic), queue (each write goes through a durable queue first: push, peek, len,
ack, checking what each returns).
"""

import json
import os
import random
import subprocess
import sys
import time

MODE = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 2
out = sys.stdout
next_id = 0


def send(msg):
    out.write(json.dumps(msg) + "\n")
    out.flush()


def receive():
    line = sys.stdin.readline()
    if not line:
        sys.exit(0)
    return json.loads(line)


def call(task, target, **args):
    global next_id
    next_id += 1
    send({"type": "call", "id": next_id, "task": task, "target": target, "args": args})
    msg = receive()
    assert msg["type"] in ("result", "error") and msg["id"] == next_id, msg
    if msg["type"] == "error":
        raise ConnectionError(msg["error"]) if msg["error"] == "unavailable" else TimeoutError(msg["error"])
    return msg["value"]


def start_children():
    subprocess.Popen(["sleep", "1000"])  # stays in the process group
    # A daemon: double fork and setsid, so it leaves the group and is reparented.
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execvp("sleep", ["sleep", "1001"])
        os._exit(0)


if MODE == "garbage-hello":
    print("Listening on port 8080")
    sys.stdout.flush()
    time.sleep(30)
    sys.exit(0)
if MODE == "exit-before-hello":
    print("cannot open config.yaml", file=sys.stderr)
    sys.exit(3)
if MODE == "silent":
    time.sleep(3600)
if MODE == "children":
    start_children()
if MODE == "slow-start":
    time.sleep(1.0)  # a runtime that takes longer to start than an operation may take
send({"type": "hello", "protocol": 99 if MODE == "bad-version" else 1, "subject": f"stub {MODE}",
      "capabilities": {"flush": True}})

ops = 0
while True:
    msg = receive()
    if msg["type"] != "op":
        print(f"unexpected {msg}", file=sys.stderr)
        sys.exit(70)
    task, op = msg["task"], msg["op"]
    ops = 1 if op == "reset" else ops + 1
    if ops == N and MODE == "garbage":
        out.write("DEBUG: about to write\n")
        out.flush()
    if ops == N and MODE == "exit":
        print("panic: out of memory", file=sys.stderr)
        sys.stderr.flush()
        os._exit(3)
    if ops == N and MODE == "never":
        time.sleep(3600)
    if ops == N and MODE == "unknown-target":
        call(task, "cache.scan", pattern="*")
    if MODE == "flood-stderr":
        sys.stderr.write("x" * 100_000 + "\n")
    try:
        value = None
        if ops == N and MODE == "raise":
            send({"type": "failed", "id": msg["id"], "error": "subject", "exception": "KeyError",
                  "message": "'k0' (at stub_subject.py)"})
            continue
        if MODE == "random" and op in ("write", "read") and random.random() < 0.5:
            call(task, "clock.now")
        if op == "write" and MODE == "queue":
            call(task, "queue.push", queue="wal", item=msg["value"])
            items = call(task, "queue.peek", queue="wal", n=1000)
            n = call(task, "queue.len", queue="wal")
            assert items[-1] == msg["value"] and n == len(items), (items, n)
            call(task, "db.put", key=msg["key"], value=msg["value"])
            call(task, "queue.ack", queue="wal", n=n)
        elif op == "write":
            call(task, "db.put", key=msg["key"], value=msg["value"])
        elif op == "read":
            value = call(task, "db.get", key=msg["key"])
        send({"type": "done", "id": msg["id"] + (1000 if ops == N and MODE == "wrong-id" else 0), "value": value})
    except (ConnectionError, TimeoutError) as e:
        kind = "unavailable" if isinstance(e, ConnectionError) else "timeout"
        send({"type": "failed", "id": msg["id"], "error": kind, "message": str(e)})
