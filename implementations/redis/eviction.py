"""Which Redis eviction policies the write-behind's state survives.

The durable write-behind keeps three things in Redis keys without a TTL: the stream of
each shard (the queue of acknowledged writes), and per key the meta hash (the version
handed out and the pending mark that makes reads answer an acknowledged write the DB does
not have yet). Under memory pressure a server whose ``maxmemory-policy`` is ``allkeys-*``
evicts any key, these included: an evicted stream loses acknowledged writes, an evicted
meta makes reads answer the DB's older value (``tests/redis/test_eviction.py`` shows
both on a real server). ``noeviction`` and the ``volatile-*`` policies never evict a key
without a TTL: at the memory limit the write fails instead (Redis answers OOM), and
nothing acknowledged is lost.

The synchronous policies keep no acknowledged state in Redis: a lost meta is the
per-key case of a cache restart, which their version epochs detect (the same tests check
them while a real server evicts their keys).
"""

from __future__ import annotations

import warnings
from typing import Any

__all__ = ["EVICTING_POLICIES", "EvictionUnsafe", "refuse_evicting_server"]

# The policies that may evict a key without a TTL (Redis 7: allkeys-lru, -lfu, -random).
EVICTING_POLICIES = frozenset({"allkeys-lru", "allkeys-lfu", "allkeys-random"})


class EvictionUnsafe(RuntimeError):
    """The server may evict the write-behind's queue or pending marks under memory
    pressure (``maxmemory`` set and an ``allkeys-*`` policy)."""


def _servers(info: dict[str, Any]) -> dict[str, dict[str, Any]]:
    # A Cluster client answers INFO with one dict per node; a plain client with one dict.
    if "maxmemory_policy" in info:
        return {"": info}
    return {node: section for node, section in info.items() if isinstance(section, dict)}


def refuse_evicting_server(client: Any) -> None:
    """Raise `EvictionUnsafe` if a server behind ``client`` would evict keys without a
    TTL now. Best effort: a server that cannot be asked (down, or an ACL refusing INFO)
    is not refused -- a factory must still build while the cache is down -- and a refused
    INFO is a warning, since the operator's configuration is then unknown. A policy
    changed after this check (CONFIG SET) is the operator's to get right."""
    # A Cluster client asks one node unless told otherwise: ask every primary.
    where = {"target_nodes": client.PRIMARIES} if hasattr(client, "get_primaries") else {}
    try:
        info = client.info("memory", **where)
    except (ConnectionError, TimeoutError):
        return
    except Exception as exc:  # noqa: BLE001 - redis.exceptions.ResponseError: NOPERM from an ACL
        warnings.warn(f"cannot read the Redis maxmemory-policy ({exc}); the write-behind "
                      "loses acknowledged writes if it is allkeys-*", RuntimeWarning,
                      stacklevel=3)
        return
    for node, section in _servers(info).items():
        policy = str(section.get("maxmemory_policy", ""))
        if policy in EVICTING_POLICIES and int(section.get("maxmemory", 0) or 0) > 0:
            which = f" (node {node})" if node else ""
            raise EvictionUnsafe(
                f"the Redis{which} evicts any key under memory pressure (maxmemory-policy "
                f"{policy}, maxmemory {section.get('maxmemory')}): the write-behind's queue "
                "and pending marks would go with it, and acknowledged writes with them; use "
                "noeviction or a volatile-* policy, or no maxmemory")
