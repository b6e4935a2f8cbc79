"""Subjects for the timeline tests: a write-through with the classic race (DB put, then
cache set, no lock), so a check with two clients ends in overlapping operations."""

from __future__ import annotations

from typing import Any


class RacyWriteThrough:
    def __init__(self, env: Any):
        self.env = env

    def write(self, key: str, value: str) -> None:
        # No lock between the two steps: a second writer's pair can land in between.
        self.env.db.put(key, value)
        self.env.cache.set(key, value, ttl=60)

    def read(self, key: str) -> str | None:
        value = self.env.cache.get(key)
        if value is None:
            value = self.env.db.get(key)
            if value is not None:
                self.env.cache.set(key, value, ttl=60)
        return value


def racy_write_through(env: Any) -> RacyWriteThrough:
    return RacyWriteThrough(env)
