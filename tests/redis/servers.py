"""Redis servers of a test's own (a password, TLS, a port of its own)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.backends.server import RedisServer, ServerUnavailable

__all__ = ["serving"]


def serving(server: RedisServer, what: str = "redis-server") -> Iterator[RedisServer]:
    """Start a server of the test's own for a fixture to yield, and stop it afterwards;
    one that cannot start skips the test with the reason."""
    try:
        server.start()
    except ServerUnavailable as exc:
        pytest.skip(f"no {what}: {exc}")
    try:
        yield server
    finally:
        server.stop()
