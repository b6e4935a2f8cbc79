"""Write-through protocols: the write updates the DB and the cache before it returns.

The seeds disagree on the order ("write to the database first", "write to the cache,
then the cache writes the database") and on whether the cache entry is set or
invalidated; each variant is a separate protocol so the proofs can tell them apart.
Every step below is one store call.
"""

from __future__ import annotations

from collections.abc import Sequence

from model.protocols.builder import END, FAIL, Branch, OpContext, Protocol, Step, make_scenario
from model.protocols.expr import TRUE, and_, eq, ite, lt, not_, or_, var
from model.protocols.reads import cache_read
from model.protocols.system import INITIAL, Faults, Op

__all__ = ["WT_DB_FIRST_SET", "WT_CACHE_FIRST_SET", "WT_DB_FIRST_INVALIDATE", "WT_VERSIONED"]

UP, DOWN = eq(var("db_up"), 1), eq(var("db_up"), 0)


def _db_put(ctx: OpContext, then: str) -> Step:
    """``db.put(value)``: applied when the DB is up, raises (write fails) when it is down."""
    return Step(
        "put",
        "db.put",
        (Branch(UP, ctx.db_store(ctx.value), then, "ok"), Branch(DOWN, (), FAIL, "down")),
    )


def _db_first_set(ctx: OpContext, op: Op) -> Sequence[Step]:
    if op.kind == "read":
        return cache_read(ctx)
    return [
        _db_put(ctx, "set"),
        Step("set", "cache.set", (Branch(TRUE, (("cache", ctx.value),), END),)),
    ]


def _cache_first_set(ctx: OpContext, op: Op) -> Sequence[Step]:
    if op.kind == "read":
        return cache_read(ctx)
    # The seeds' "cache write first" order: a DB failure after the cache write leaves the
    # cache holding a value the write reported as failed.
    return [
        Step("set", "cache.set", (Branch(TRUE, (("cache", ctx.value),), "put"),)),
        _db_put(ctx, END),
    ]


def _db_first_invalidate(ctx: OpContext, op: Op) -> Sequence[Step]:
    if op.kind == "read":
        return cache_read(ctx)
    return [
        _db_put(ctx, "del"),
        Step("del", "cache.delete", (Branch(TRUE, (("cache", 0),), END),)),
    ]


def _versioned(ctx: OpContext, op: Op) -> Sequence[Step]:
    """Versions are the value codes (a writer's version is fixed when it starts, like a
    timestamp). The DB applies a put only if it is newer; the cache entry is replaced only
    by compare-and-set against the entry seen, and never by an older version."""
    if op.kind == "read":
        return cache_read(ctx, fill="cas")
    v, cache, db = ctx.value, var("cache"), var("db")
    seen = ctx.local("seen")
    newer_cached = and_(OpContext.is_value(cache, ctx.scenario), not_(lt(cache, v)))
    return [
        Step(
            "put",
            "db.put",
            (
                Branch(UP, ctx.db_store(ite(lt(db, v), v, db)), "get", "ok"),
                Branch(DOWN, (), FAIL, "down"),
            ),
        ),
        Step(
            "get",
            "cache.get",
            (
                Branch(newer_cached, (), END, "newer"),
                Branch(not_(newer_cached), ((seen, cache),), "cas", "older"),
            ),
        ),
        Step(
            "cas",
            "cache.cas",
            (
                Branch(eq(cache, var(seen)), (("cache", v),), END, "swapped"),
                # Someone changed the entry since our get: look again.
                Branch(or_(not_(eq(cache, var(seen)))), (), "get", "retry"),
            ),
        ),
    ]


_WRITER_DB_FAULT = make_scenario({"c0": ["write", "write"]}, Faults(db_down=1), INITIAL)

WT_DB_FIRST_SET = Protocol(
    "wt-db-first-set", "write-through", "db.put, then cache.set", _db_first_set,
    _WRITER_DB_FAULT,
)
WT_CACHE_FIRST_SET = Protocol(
    "wt-cache-first-set", "write-through", "cache.set, then db.put", _cache_first_set,
    _WRITER_DB_FAULT,
)
WT_DB_FIRST_INVALIDATE = Protocol(
    "wt-db-first-invalidate", "write-through", "db.put, then cache.delete",
    _db_first_invalidate, make_scenario({"c0": ["write"], "c1": ["write"]}, Faults(db_down=1),
                                        INITIAL),
)
WT_VERSIONED = Protocol(
    "wt-versioned", "write-through",
    "db.put with a version (newer wins), then cache.get + cache.cas never installing an older "
    "version; reads fill with cas(None, value)", _versioned,
    make_scenario({"c0": ["read"], "c1": ["write"], "c2": ["write"]}),
)
