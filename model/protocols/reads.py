"""The read path most protocols share: cache first, then the DB, then fill the cache.

It is written once here because write-through, cache-aside, write-around and the
write-behind variants all read the same way; only how the fill is guarded differs
(a plain set, or an add-if-absent cas that cannot overwrite a newer entry).
"""

from __future__ import annotations

from model.protocols.builder import END, FAIL, Branch, OpContext, Step
from model.protocols.expr import and_, eq, not_, var
from model.protocols.system import ABSENT

__all__ = ["cache_read"]


def cache_read(ctx: OpContext, *, fill: str = "set") -> list[Step]:
    """``get``; on a miss ``db.get``; then fill with ``cache.set`` or ``cache.cas(None, r)``.

    A DB that is down makes the read raise (the read is then not an observation).
    """
    sc = ctx.scenario
    cache, r = var("cache"), ctx.local("r")
    hit = OpContext.is_value(cache, sc)
    if fill == "set":
        fill_step = Step("fill", "cache.set", (Branch(eq(1, 1), (("cache", var(r)),), END,
                                                       result=var(r)),))
    elif fill == "cas":
        fill_step = Step(
            "fill",
            "cache.cas",
            (
                Branch(eq(cache, ABSENT), (("cache", var(r)),), END, "filled", result=var(r)),
                Branch(not_(eq(cache, ABSENT)), (), END, "lost", result=var(r)),
            ),
        )
    else:
        raise ValueError(f"unknown fill {fill!r}: expected 'set' or 'cas'")
    return [
        Step(
            "get",
            "cache.get",
            (
                Branch(hit, (), END, "hit", result=cache),
                Branch(not_(hit), (), "load", "miss"),
            ),
        ),
        Step(
            "load",
            "db.get",
            (
                Branch(eq(var("db_up"), 1), ((r, var("db")),), "fill", "ok"),
                Branch(and_(eq(var("db_up"), 0)), (), FAIL, "down"),
            ),
        ),
        fill_step,
    ]
