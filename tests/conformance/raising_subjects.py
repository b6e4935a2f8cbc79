"""Subjects whose bugs raise, for the tests of where a subject's exception is reported
(tests/conformance/test_error_places.py). The lines that raise are marked `# RAISES`, so
the tests find them without hard-coding line numbers."""

from __future__ import annotations

import json
from typing import Any


class _Base:
    def __init__(self, env: Any) -> None:
        self.env = env

    def write(self, key: str, value: str) -> None:
        self.env.db.put(key, value)
        self.env.cache.delete(key)

    def read(self, key: str) -> str | None:
        v = self.env.cache.get(key)
        if v is None:
            v = self.env.db.get(key)
        return v


class OwnBug(_Base):
    """Raises in its own helper on the first value it reads back."""

    def read(self, key: str) -> str | None:
        return self._checked(super().read(key))

    def _checked(self, value: str | None) -> str | None:
        if value is not None:
            raise ValueError(f"unexpected {value}")  # RAISES own
        return value


class LibraryBug(_Base):
    """Its own code hands a plain string to json.loads, which raises inside the stdlib."""

    def read(self, key: str) -> str | None:
        value = super().read(key)
        if value is not None:
            return json.loads(value)  # RAISES library
        return value


class HarnessBug(_Base):
    """Calls the store API wrongly: the store layer (the harness) raises the TypeError."""

    def write(self, key: str, value: str) -> None:
        self.env.db.put_many(value)  # RAISES harness


class WorkerBug(_Base):
    """Its background worker dies on a bug of its own."""

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        env.spawn(self._flusher)

    def _flusher(self) -> None:
        self.env.clock.sleep(1.0)
        raise RuntimeError("flusher bug")  # RAISES worker


def own_bug(env: Any) -> OwnBug:
    return OwnBug(env)


def library_bug(env: Any) -> LibraryBug:
    return LibraryBug(env)


def harness_bug(env: Any) -> HarnessBug:
    return HarnessBug(env)


def worker_bug(env: Any) -> WorkerBug:
    return WorkerBug(env)


def factory_bug(env: Any) -> _Base:
    return _Base(env) if env is None else {}["missing"]  # RAISES factory
