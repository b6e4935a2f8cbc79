"""`wa-no-invalidate` (model/protocols/cache_aside.py): write-around that leaves the cache
alone on a write and relies on the fill's TTL to end staleness."""

from __future__ import annotations

from typing import Any

from implementations.protocols._read import cache_read

__all__ = ["NoInvalidateWriteAround", "wa_no_invalidate", "wa_untimed_fill", "FILL_TTL_S"]

FILL_TTL_S = 30.0  # the memory implementations' value TTL; the harness reads it as `fill_ttl`


class NoInvalidateWriteAround:
    """Protocol `wa-no-invalidate`.

    write: `db.put` and nothing else. read: `cache.get`; on a miss `db.get`, `cache.set`
    with `fill_ttl`. A read after the client's own write may return the entry an earlier
    fill left (read-your-writes is refuted), which write-around's bounded staleness allows
    for at most `fill_ttl` seconds; cache-aside's linearizable reads do not.
    """

    def __init__(self, env: Any, *, fill_ttl: float | None = FILL_TTL_S) -> None:
        self._env = env
        self._ttl = fill_ttl
        if fill_ttl is not None:
            # The harness reads `fill_ttl` as the staleness bound; an untimed fill declares none.
            self.fill_ttl = fill_ttl

    def write(self, key: str, value: str) -> None:
        self._env.db.put(key, value)

    def read(self, key: str) -> str | None:
        return cache_read(self._env, key, self._ttl)


def wa_no_invalidate(env: Any) -> NoInvalidateWriteAround:
    """Protocol `wa-no-invalidate`: `db.put` only; reads fill with a TTL."""
    return NoInvalidateWriteAround(env)


def wa_untimed_fill(env: Any) -> NoInvalidateWriteAround:
    """Protocol `wa-untimed-fill`: the same store calls, but fills carry no TTL, so nothing
    ends a stale entry (bounded staleness is refuted). It declares no `fill_ttl`: the
    harness then judges it against the default staleness bound."""
    return NoInvalidateWriteAround(env, fill_ttl=None)
