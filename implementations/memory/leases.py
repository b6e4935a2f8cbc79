"""Lease-guarded cache fills: the read path shared by every policy that invalidates on write.

The problem it solves (the "small gap" of cache-aside, seed 004): a reader misses, reads the
DB, and only then stores what it read. If a writer updated the DB and deleted the entry in
between, the reader's store puts the old value back, and it stays there until its TTL. A
`cas(key, None, value)` does not help: the writer's delete left the key absent.

The lease (after Facebook's memcache leases, emulated with the cache's own `cas`):

1. on a miss the reader puts a unique *lease marker* in the slot: `cas(key, seen, token)`
   where `seen` is what it just read there (absent, or another reader's marker, which it
   steals);
2. it reads the DB;
3. it stores the value with `cas(key, token, value)`: this succeeds only if nobody deleted,
   stole or filled the slot since step 1.

Writers only ever *delete* the slot after their DB write. So a fill that lands read the DB
after every write whose delete came before it, and a write whose DB update came between
the reader's steps 2 and 3 has not returned yet (its delete is still to come): the old value
it briefly shows belongs to a write that is still in progress. Successful fills therefore
land in the order of their DB reads, and the DB never goes back, so the cache never goes back.

A reader that could not fill (its lease was taken, or it lost the race to take one) still
returns what it read from the DB, but first deletes the slot: any other fill still in
flight read the DB *before* that delete, maybe before a newer write, and must not land
after this reader has returned the newer value (the two reads would then contradict
each other). Deleting is always safe; it only costs a miss.

Markers carry a short TTL so that a reader that crashed holding one blocks nobody for long;
values carry the policy's TTL so that an entry a cache fault left stale (a delete that
failed) is read for at most that long.

Repair: a key whose delete (or update) failed is remembered as *suspect*; until a later
delete of it succeeds, this instance reads it from the DB instead of trusting the entry.
Another instance does not know, so for it the entry stays stale until its TTL: the
contract's allowance for "a cache fault the implementation could not repair".
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

__all__ = ["STORE_ERRORS", "LEASE_PREFIX", "LeasedCache", "is_lease"]

# Every store fault the env contract raises is one of these (docs/ENVIRONMENT.md); a
# BaseException the harness uses to unwind a crashed instance is deliberately not.
STORE_ERRORS: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError)

# A written value never starts with NUL in practice; readers treat a marker as a miss.
LEASE_PREFIX = "\x00lease:"

# Process-wide, so a recovered instance (same env.instance after a crash) never reuses a
# token its dead predecessor left in the cache.
_TOKENS = itertools.count(1)

Loader = Callable[[str], "str | None"]


def is_lease(value: str | None) -> bool:
    """True if a cached value is a lease marker rather than data."""
    return value is not None and value.startswith(LEASE_PREFIX)


class LeasedCache:
    """The cache side of an invalidating policy: guarded fills and best-effort deletes.

    Args:
        env: the subject's environment (only `env.cache` and `env.instance` are used).
        ttl: TTL of every value this class stores, in seconds of `env.clock`.
        lease_ttl: TTL of a lease marker; a reader holds one for one DB read.
    """

    # How many times a reader retries taking a lease before it reads the DB and deletes.
    ATTEMPTS = 2

    def __init__(self, env: Any, *, ttl: float, lease_ttl: float) -> None:
        if ttl <= 0 or lease_ttl <= 0:
            raise ValueError(f"TTLs must be positive, got ttl={ttl!r}, lease_ttl={lease_ttl!r}")
        self._cache = env.cache
        self._instance = getattr(env, "instance", 0)
        self.ttl = float(ttl)
        self.lease_ttl = float(lease_ttl)
        # Keys whose entry may be stale after a failed delete or set. Best effort and
        # per instance: it only narrows what the TTL already bounds.
        self._suspect: set[str] = set()

    def _token(self) -> str:
        return f"{LEASE_PREFIX}{self._instance}:{next(_TOKENS)}"

    def lookup(self, key: str, load: Loader) -> str | None:
        """Return the cached value of `key`, or load it and fill the cache under a lease.

        Store faults of the cache are absorbed (the DB answers instead); errors of `load`
        (the DB) escape, so the caller's read fails rather than guesses.
        """
        if key in self._suspect and not self.invalidate(key):
            return load(key)  # the entry may be stale and cannot be removed yet
        for _ in range(self.ATTEMPTS):
            try:
                seen = self._cache.get(key)
            except STORE_ERRORS:
                return load(key)  # cache unreachable: nothing can be filled, the DB answers
            if seen is not None and not is_lease(seen):
                return seen
            token = self._token()
            try:
                acquired = self._cache.cas(key, seen, token, ttl=self.lease_ttl)
            except STORE_ERRORS:
                return load(key)  # a marker we may have left expires by its own TTL
            if acquired:
                return self._fill(key, token, load)
            # Someone filled, deleted or took a lease in between: look again.
        value = load(key)
        self.invalidate(key)
        return value

    def _fill(self, key: str, token: str, load: Loader) -> str | None:
        try:
            value = load(key)
        except STORE_ERRORS:
            self.invalidate(key)  # release our marker so other readers need not wait for its TTL
            raise
        if value is None:
            self.invalidate(key)  # nothing to cache; release the marker
            return None
        try:
            filled = self._cache.cas(key, token, value, ttl=self.ttl)
        except STORE_ERRORS:
            filled = False  # a timed-out cas may or may not have landed: treat as lost
        if not filled:
            # Our lease was taken: a fill that read the DB before us may still land. Delete
            # so that nothing older than `value` survives our return (see module docstring).
            self.invalidate(key)
        return value

    def invalidate(self, key: str) -> bool:
        """Delete `key` from the cache; False if the cache could not be reached.

        A delete that timed out may have happened or not, and deleting twice is harmless,
        so it is retried once.
        """
        for _ in range(2):
            try:
                self._cache.delete(key)
            except STORE_ERRORS:
                continue
            self._suspect.discard(key)
            return True
        self._suspect.add(key)
        return False

    def store(self, key: str, value: str) -> bool:
        """Set `key` to a value known to be the latest (write-behind, under its lock); on a
        failure the key becomes suspect. False if the cache could not be reached."""
        try:
            self._cache.set(key, value, ttl=self.ttl)
        except STORE_ERRORS:
            self._suspect.add(key)
            return False
        self._suspect.discard(key)
        return True

    def refresh(self, key: str, load: Loader) -> None:
        """Warm the entry of `key` after a write (write-through): a guarded fill whose
        failures are ignored, since the write is already durable."""
        try:
            self.lookup(key, load)
        except STORE_ERRORS:
            pass
