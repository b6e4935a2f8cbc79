"""Write-behind protocols: the write is acknowledged before the DB has it.

* ``wb-volatile`` — the seeds' in-process buffer: ``cache.set`` and remember the value in
  memory; ``flush`` writes the buffer with ``db.put_many``. A crash loses the buffer.
* ``wb-durable`` — the environment's durable queue: ``cache.set``, ``queue.push``; the
  flusher ``peek``s, ``db.put``s, and only then ``ack``s (removes) the entry.
* ``wb-pop-before-commit`` — as durable, but the entry is removed before the DB commit.
* ``wb-requeue`` — removes first too, and on a DB failure pushes its snapshot back at the
  tail, behind newer pending writes, which it will then overwrite (seed 001's
  "re-queue failed writes").
"""

from __future__ import annotations

from collections.abc import Sequence

from model.protocols.builder import END, FAIL, Branch, OpContext, Protocol, Step, make_scenario
from model.protocols.expr import TRUE, eq, ite, not_, var
from model.protocols.reads import cache_read
from model.protocols.system import ABSENT, Faults, Op

__all__ = ["WB_VOLATILE", "WB_DURABLE", "WB_POP_BEFORE_COMMIT", "WB_REQUEUE"]

UP, DOWN = eq(var("db_up"), 1), eq(var("db_up"), 0)


def _volatile(ctx: OpContext, op: Op) -> Sequence[Step]:
    if op.kind == "read":
        return cache_read(ctx)
    if op.kind == "write":
        return [Step("set", "cache.set", (Branch(TRUE, (("cache", ctx.value), ("mem", ctx.value)),
                                                 END),))]
    mem, db = var("mem"), var("db")
    # put_many of the (possibly empty) batch: one store call even when there is nothing to do,
    # so that a replay schedules the flush exactly as the model does.
    return [
        Step(
            "put",
            "db.put_many",
            (
                Branch(UP, ctx.db_store(ite(eq(mem, ABSENT), db, mem)) + (("mem", ABSENT),), END,
                       "ok"),
                Branch(DOWN, (), FAIL, "down"),
            ),
        )
    ]


def _queued_write(ctx: OpContext) -> list[Step]:
    return [
        Step("set", "cache.set", (Branch(TRUE, (("cache", ctx.value),), "push"),)),
        Step("push", "queue.push", (Branch(TRUE, ctx.queue_push(ctx.value), END),)),
    ]


def _peek(ctx: OpContext, item: str, then: str) -> Step:
    head = ctx.queue_head()
    return Step(
        "peek",
        "queue.peek",
        (
            Branch(not_(eq(head, ABSENT)), ((item, head),), then, "item"),
            Branch(eq(head, ABSENT), (), END, "empty"),
        ),
    )


def _durable(ctx: OpContext, op: Op) -> Sequence[Step]:
    if op.kind != "flush":
        return cache_read(ctx) if op.kind == "read" else _queued_write(ctx)
    item = ctx.local("item")
    return [
        _peek(ctx, item, "put"),
        Step("put", "db.put", (Branch(UP, ctx.db_store(var(item)), "ack", "ok"),
                               Branch(DOWN, (), FAIL, "down"))),
        Step("ack", "queue.ack", (Branch(TRUE, ctx.queue_pop(), "peek"),)),
    ]


def _pop_before_commit(ctx: OpContext, op: Op) -> Sequence[Step]:
    if op.kind != "flush":
        return cache_read(ctx) if op.kind == "read" else _queued_write(ctx)
    item = ctx.local("item")
    return [
        _peek(ctx, item, "ack"),
        Step("ack", "queue.ack", (Branch(TRUE, ctx.queue_pop(), "put"),)),
        Step("put", "db.put", (Branch(UP, ctx.db_store(var(item)), "peek", "ok"),
                               Branch(DOWN, (), FAIL, "down"))),
    ]


def _requeue(ctx: OpContext, op: Op) -> Sequence[Step]:
    if op.kind != "flush":
        return cache_read(ctx) if op.kind == "read" else _queued_write(ctx)
    item = ctx.local("item")
    return [
        _peek(ctx, item, "ack"),
        Step("ack", "queue.ack", (Branch(TRUE, ctx.queue_pop(), "put"),)),
        Step("put", "db.put", (Branch(UP, ctx.db_store(var(item)), "peek", "ok"),
                               Branch(DOWN, (), "requeue", "down"))),
        Step("requeue", "queue.push", (Branch(TRUE, ctx.queue_push(var(item)), FAIL),)),
    ]


_CRASH = make_scenario({"c0": ["write", "write"], "c1": ["flush", "flush"]}, Faults(crash=1))
_DB_FAULT = make_scenario({"c0": ["write", "write"], "c1": ["flush", "flush"]}, Faults(db_down=1))

WB_VOLATILE = Protocol(
    "wb-volatile", "write-behind", "cache.set + in-memory buffer; flush = db.put_many(buffer)",
    _volatile, _CRASH, buffer=True,
)
WB_DURABLE = Protocol(
    "wb-durable", "write-behind",
    "cache.set, queue.push; flush = peek, db.put, then queue.ack", _durable, _CRASH, queue=True,
)
WB_POP_BEFORE_COMMIT = Protocol(
    "wb-pop-before-commit", "write-behind",
    "cache.set, queue.push; flush = peek, queue.ack, then db.put", _pop_before_commit, _CRASH,
    queue=True,
)
WB_REQUEUE = Protocol(
    "wb-requeue", "write-behind",
    "as pop-before-commit; a failed db.put pushes its item back behind newer ones",
    _requeue, _DB_FAULT, queue=True,
)
