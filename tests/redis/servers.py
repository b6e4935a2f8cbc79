"""Redis servers of a test's own (a password, TLS, a port of its own).

Each pytest-xdist worker starts its servers on ports of its own: a band of ports below the
kernel's ephemeral range (so no client connection's local port can take one between the
check that it is free and the server's bind), one band per worker."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator

import pytest

from conformance.backends.server import RedisServer, ServerUnavailable, port_is_free

__all__ = ["serving", "worker_port"]

# Ports 21000-30999, shared out between the workers; the ephemeral range starts at 32768.
_FIRST, _SPAN = 21000, 10000
_START_TRIES = 3


def _band() -> range:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    width = _SPAN // max(count, 1)
    return range(_FIRST + index * width, _FIRST + (index + 1) * width)


def worker_port() -> int:
    """A port of this worker's band that is free now (the band is searched from a random
    place: another run on the same machine uses the same bands)."""
    band = _band()
    start = random.randrange(len(band))
    for i in range(len(band)):
        port = band[(start + i) % len(band)]
        if port_is_free(port):
            return port
    raise ServerUnavailable(f"no free port in {band.start}-{band.stop - 1} for this test worker")


def serving(server: RedisServer, what: str = "redis-server") -> Iterator[RedisServer]:
    """Start a server of the test's own, on a port of this worker's, for a fixture to
    yield, and stop it afterwards; one that cannot start (after trying other ports: another
    run may have taken the port) skips the test with the reason."""
    for attempt in range(_START_TRIES):
        try:
            os.makedirs(server.directory, exist_ok=True)  # stop() removed it after a failed try
            server.port = worker_port()
            server.start()
            break
        except ServerUnavailable as exc:
            server.stop()
            if attempt == _START_TRIES - 1:
                pytest.skip(f"no {what}: {exc}")
    try:
        yield server
    finally:
        server.stop()
