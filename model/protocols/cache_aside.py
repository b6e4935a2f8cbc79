"""Cache-aside and write-around protocols: writes go to the DB; reads fill the cache.

``ca-invalidate`` is the textbook pattern (seed 004: "update the database, then delete
the matching cache entry"); its known gap is the stale fill, a reader that loaded the
old value before the write and fills after the delete. ``ca-lease`` closes it with a
lease: a reader on a miss first installs its own token with ``cas(None, token)``; the
writer's delete removes any token, so the reader's final ``cas(token, value)`` fails if a
write happened in between. ``wa-no-invalidate`` is write-around without invalidation: the
write touches only the DB and cached entries expire by TTL. ``wa-untimed-fill`` is the same
algorithm with fills that carry no TTL (the mistake of the mutant
``cache_aside_no_invalidation``): nothing ever ends a stale entry.
"""

from __future__ import annotations

from collections.abc import Sequence

from model.protocols.builder import (
    END,
    FAIL,
    Branch,
    OpContext,
    Protocol,
    Step,
    make_scenario,
)
from model.protocols.expr import TRUE, eq, not_, var
from model.protocols.reads import cache_read
from model.protocols.system import ABSENT, INITIAL, Faults, Op

__all__ = ["CA_INVALIDATE", "CA_LEASE", "WA_NO_INVALIDATE", "WA_UNTIMED_FILL"]

UP, DOWN = eq(var("db_up"), 1), eq(var("db_up"), 0)


def _put(ctx: OpContext, then: str) -> Step:
    return Step(
        "put",
        "db.put",
        (Branch(UP, ctx.db_store(ctx.value), then, "ok"), Branch(DOWN, (), FAIL, "down")),
    )


def _invalidate(ctx: OpContext, op: Op) -> Sequence[Step]:
    if op.kind == "read":
        return cache_read(ctx)
    return [_put(ctx, "del"), Step("del", "cache.delete", (Branch(TRUE, (("cache", 0),), END),))]


def _lease_read(ctx: OpContext) -> list[Step]:
    sc = ctx.scenario
    cache, token, r = var("cache"), ctx.lease, ctx.local("r")
    hit = OpContext.is_value(cache, sc)
    return [
        Step(
            "get",
            "cache.get",
            (Branch(hit, (), END, "hit", result=cache), Branch(not_(hit), (), "lease", "miss")),
        ),
        Step(
            "lease",
            "cache.cas",
            (
                Branch(eq(cache, ABSENT), (("cache", token),), "load", "granted"),
                # Another reader holds the lease (or a value arrived): read the DB, no fill.
                Branch(not_(eq(cache, ABSENT)), (), "load_only", "refused"),
            ),
        ),
        Step(
            "load",
            "db.get",
            (Branch(UP, ((r, var("db")),), "fill", "ok"), Branch(DOWN, (), FAIL, "down")),
        ),
        Step(
            "fill",
            "cache.cas",
            (
                Branch(eq(cache, token), (("cache", var(r)),), END, "filled", result=var(r)),
                Branch(not_(eq(cache, token)), (), END, "revoked", result=var(r)),
            ),
        ),
        Step(
            "load_only",
            "db.get",
            (Branch(UP, ((r, var("db")),), END, "ok", result=var("db")),
             Branch(DOWN, (), FAIL, "down")),
        ),
    ]


def _lease(ctx: OpContext, op: Op) -> Sequence[Step]:
    if op.kind == "read":
        return _lease_read(ctx)
    # The delete removes a value or a lease token alike: that is the revocation.
    return [_put(ctx, "del"), Step("del", "cache.delete", (Branch(TRUE, (("cache", 0),), END),))]


def _write_around(ctx: OpContext, op: Op) -> Sequence[Step]:
    if op.kind == "read":
        return cache_read(ctx)
    return [_put(ctx, END)]


_READER_WRITER = make_scenario({"c0": ["read"], "c1": ["write"]})

CA_INVALIDATE = Protocol(
    "ca-invalidate", "cache-aside", "db.put, then cache.delete; a miss fills with cache.set",
    _invalidate, _READER_WRITER,
)
CA_LEASE = Protocol(
    "ca-lease", "cache-aside",
    "db.put, then cache.delete; a miss takes a lease cas(None, token), loads, and fills "
    "with cas(token, value)", _lease,
    make_scenario({"c0": ["read"], "c1": ["read"], "c2": ["write"]}),
)
WA_NO_INVALIDATE = Protocol(
    "wa-no-invalidate", "write-around",
    "db.put only; a miss fills with cache.set (with a TTL; the entry is stale until it expires)",
    _write_around, make_scenario({"c0": ["write", "read"]}, Faults(), INITIAL), fill_ttl=True,
)
WA_UNTIMED_FILL = Protocol(
    "wa-untimed-fill", "write-around",
    "db.put only; a miss fills with cache.set without a TTL (a stale entry stays until "
    "overwritten)",
    _write_around, make_scenario({"c0": ["write", "read"]}, Faults(), INITIAL),
)
