"""The built-in implementations and the policy each conforms to: the one table the report,
the benchmarks and the tests read (they name a built-in by its `module:factory` string, so
reading this table imports no implementation and no client library).

Ordered as the report lists them: the synchronous policies first, then write-behind.
"""

from __future__ import annotations

from typing import Final

__all__ = ["MEMORY", "REDIS", "policy_of"]

#: (target, policy) of each in-memory built-in (no server needed).
MEMORY: Final[tuple[tuple[str, str], ...]] = (
    ("implementations.memory:write_through", "write-through"),
    ("implementations.memory:read_through", "read-through"),
    ("implementations.memory:cache_aside", "cache-aside"),
    ("implementations.memory:write_around", "write-around"),
    ("implementations.memory:write_behind", "write-behind"),
    ("implementations.memory:durable_write_behind", "write-behind"),
)

#: (target, policy) of each Redis-backed built-in (needs `--backend redis`).
REDIS: Final[tuple[tuple[str, str], ...]] = (
    ("implementations.redis:write_through", "write-through"),
    ("implementations.redis:read_through", "read-through"),
    ("implementations.redis:cache_aside", "cache-aside"),
    ("implementations.redis:write_around", "write-around"),
    ("implementations.redis:write_behind", "write-behind"),
)


def policy_of(target: str) -> str:
    """The policy the built-in `target` (`module:factory`) conforms to.

    Raises:
        KeyError: `target` is not a built-in.
    """
    for t, policy in MEMORY + REDIS:
        if t == target:
            return policy
    raise KeyError(f"{target!r} is not a built-in; known: {', '.join(t for t, _ in MEMORY + REDIS)}")
