"""What every Redis implementation shares: key names, the guarded read path, the
versioned synchronous write. Written against the public env contract plus ``env.redis``
and ``env.redis_keys`` only (docs/REDIS.md)."""

from __future__ import annotations

from typing import Any

from implementations.redis._scripts import Scripts

__all__ = ["RedisSubject", "DEFAULT_TTL"]

DEFAULT_TTL = 60.0  # virtual seconds a filled or written entry may be served


class RedisSubject:
    """Base of the Redis implementations. Subclasses choose how `write` goes."""

    durable = False

    def __init__(self, env: Any, *, ttl: float = DEFAULT_TTL) -> None:
        if getattr(env, "redis", None) is None or getattr(env, "redis_keys", None) is None:
            raise TypeError("implementations.redis needs env.redis and env.redis_keys: "
                            "run with --backend redis")
        self.env = env
        self.redis = env.redis
        self.keys = env.redis_keys
        self.ttl = ttl
        self.scripts = Scripts(self.redis)

    def _names(self, key: str) -> list[str]:
        tag = self.keys.tag(self.keys.shard(key))
        return [tag + "c:" + key, tag + "m:" + key, tag + "wb"]

    def _expires(self) -> str:
        return repr(self.env.clock.now() + self.ttl)

    def read(self, key: str) -> str | None:
        names = self._names(key)
        try:
            answer = self.scripts.read(keys=names, args=[repr(self.env.clock.now())])
        except (ConnectionError, TimeoutError):
            return self._read_without_cache(key)
        if answer[0] == "hit":
            return answer[1]
        value = self.env.db.get(key)
        if answer[0] == "miss" and value is not None:
            try:
                self.scripts.fill(keys=names, args=[answer[1], value, self._expires(),
                                                    repr(self.env.clock.now())])
            except (ConnectionError, TimeoutError):
                pass  # an unfilled entry only costs the next reader a DB read
        return value

    def _read_without_cache(self, key: str) -> str | None:
        # Synchronous policies keep the DB authoritative: with the cache down, read it.
        return self.env.db.get(key)

    def _write_synchronously(self, key: str, value: str, mode: str) -> None:
        """BEGIN -> versioned DB put -> END. A cache failure before the DB put fails the
        write (nothing happened, or an in-flight mark that only blocks fills); after it,
        the write is acknowledged: BEGIN already dropped the old entry and the mark keeps
        fills out, so no stale value can be served."""
        names = self._names(key)
        version, epoch = self.scripts.begin(keys=names)
        self.env.db.put(key, value, version=int(version))
        try:
            self.scripts.end(keys=names, args=[version, epoch, mode, value, self._expires()])
        except (ConnectionError, TimeoutError):
            pass

    def flush(self) -> None:
        """Nothing is pending in synchronous policies."""

    def close(self) -> None:
        """The env owns the clients."""
